"""Uploader (tag "Uploader"): getUploadUrl, createMultipartUpload, completeMultipartUpload,
getMultipartUploadStatus."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request, Response

from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.responses import JSON, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.uploader import mapping, service
from cmpapi.server.storage.base import MultipartTarget, ObjectStore, store_dependency
from cmpapi.server.storage.keys import multipart_key, new_upload_key
from cmpapi.server.storage.tables import MultipartUpload
from cmpapi.wire import (
    CompleteMultipartUploadResponse,
    CreateMultipartUploadRequest,
    CreateMultipartUploadResponse,
    GetMultipartUploadStatusResponse,
    GetUploadUrlResponse,
)

router = Router(tags=["Uploader"])
StoreDep = Annotated[ObjectStore, Depends(store_dependency)]


@router.get(
    "/upload-url",
    operation_id="getUploadUrl",
    response_model=GetUploadUrlResponse,
    responses=error_responses(400, 401, 403),
)
async def get_upload_url(api: ApiDep, store: StoreDep) -> Response:
    """Get a presigned URL and form fields to upload one file (valid 60 minutes)."""
    key = new_upload_key()
    ttl = store.settings.upload_url_ttl
    await api.call(service.issue_upload_key, key, utcnow() + timedelta(seconds=ttl))
    url, fields = store.presigned_post(key, base_url=api.links.base, ttl=ttl)
    return wire_response(mapping.upload_url(url, fields))


@router.post(
    "/multipart-uploads",
    operation_id="createMultipartUpload",
    status_code=201,
    response_model=CreateMultipartUploadResponse,
    responses={
        201: {"headers": {"Content-Encoding": {"schema": {"type": "string", "enum": ["gzip"]}}}},
        **error_responses(400, 401, 403, 422),
    },
)
async def create_multipart_upload(
    body: CreateMultipartUploadRequest, api: ApiDep, store: StoreDep
) -> Response:
    """Create presigned part URLs for a multipart upload; the body is always gzip-encoded."""
    plan = service.plan_multipart(body.file_size, body.part_size)
    upload_id = new_id()
    expires_at = utcnow() + timedelta(seconds=store.settings.multipart_upload_ttl)
    upload = await api.call(
        service.create_multipart_upload, upload_id, multipart_key(upload_id), plan, expires_at
    )
    backend_id = await store.create_multipart(upload.key)
    if backend_id is not None:
        upload = await api.call(service.set_backend_upload_id, upload_id, backend_id)
    # Up to 10,000 signed URLs, a JSON body and its gzip: CPU work kept off the event loop.
    body_bytes = await anyio.to_thread.run_sync(
        _created_body, store, upload, plan.part_sizes, api.links.base
    )
    return Response(
        body_bytes, status_code=201, media_type=JSON, headers={"Content-Encoding": "gzip"}
    )


def _created_body(
    store: ObjectStore, upload: MultipartUpload, sizes: Sequence[int], base_url: str
) -> bytes:
    target = MultipartTarget(upload.id, upload.key, upload.backend_upload_id)
    ttl = max(int((upload.expires_at - datetime.now(UTC)).total_seconds()), 1)
    urls = [
        store.part_upload_url(target, number, size=size, base_url=base_url, ttl=ttl)
        for number, size in enumerate(sizes, 1)
    ]
    model = mapping.created(upload, urls, Links(base_url))
    raw = model.__pydantic_serializer__.to_json(model, by_alias=True)
    return gzip.compress(raw, compresslevel=6, mtime=0)


@router.post(
    "/multipart-uploads/{id}/complete",
    operation_id="completeMultipartUpload",
    status_code=202,
    response_model=CompleteMultipartUploadResponse,
    responses=error_responses(401, 403, 404, 422),
)
async def complete_multipart_upload(
    id: str, request: Request, api: ApiDep, store: StoreDep
) -> Response:
    """Start assembling the uploaded parts; watch ``links.status`` for the outcome."""
    return await api.answer(
        lambda begun: wire_response(mapping.completion_started(begun[0], api.links), 202),
        service.begin_completion,
        id,
    )


@router.get(
    "/multipart-uploads/{id}/status",
    operation_id="getMultipartUploadStatus",
    response_model=GetMultipartUploadStatusResponse,
    responses=error_responses(401, 403, 404),
)
async def get_multipart_upload_status(id: str, api: ApiDep) -> Response:
    """The completion status of a multipart upload."""
    upload = await api.call(service.get_multipart_upload, id)
    return wire_response(mapping.status(upload, api.links))
