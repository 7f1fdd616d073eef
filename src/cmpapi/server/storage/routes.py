"""The local backend's S3 stand-in: ``POST /uploads`` (presigned POST form), ``PUT
/uploads/parts/{id}/{n}`` (multipart parts) and ``GET /files/{key}`` (signed downloads).

They answer like S3 does (204/200, XML errors) so a client cannot tell which backend it
talks to. Bodies are streamed to and from the store; nothing is buffered whole. With the S3
backend these endpoints do not exist for clients (404): the bucket plays their part.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from cmpapi.server.http.deps import get_db
from cmpapi.server.http.errors import infrastructure_failure, log_failure
from cmpapi.server.http.router import Router
from cmpapi.server.storage.base import ObjectMeta, content_disposition, get_store
from cmpapi.server.storage.errors import InvalidKey, ObjectTooLarge, ObjectTooSmall
from cmpapi.server.storage.formdata import FormReader, MalformedForm, boundary_of
from cmpapi.server.storage.keys import is_id, part_key, validate_key
from cmpapi.server.storage.local import (
    DOWNLOAD_PARAMS,
    FILES_PATH,
    PART_PARAMS,
    LocalObjectStore,
    part_url_path,
)
from cmpapi.server.storage.postpolicy import AcceptedPost, PostRejected
from cmpapi.server.storage.ranges import RangeNotSatisfiable, parse_range
from cmpapi.server.storage.tables import FAILED, NOT_STARTED, MultipartUpload

# Browser apps upload from their own origin, as they do to a bucket with a CORS rule. These
# endpoints are authorized by signatures in the request, never by cookies, so any origin may.
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}


class _CorsRoute(APIRoute):
    """Adds the CORS headers, and answers infrastructure failures (database or disk away,
    disk full: the status and message ``http/errors.py`` maps them to) in S3's XML, as
    every other answer of these endpoints is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                failure = infrastructure_failure(exc)
                if failure is None:
                    raise
                log_failure(request, failure, exc)
                response = s3_error(failure.status, failure.s3_code, failure.message)
                response.headers.update(failure.headers() or {})
            response.headers.update(CORS)
            return response

        return with_cors


router = Router(include_in_schema=False, route_class=_CorsRoute)
# S3 caps the form fields before the file at 20 KB (MaxPostPreDataLengthExceeded).
MAX_FORM_FIELDS_BYTES = 20 * 1024
MAX_PART_NUMBER = 10_000
OCTET_STREAM = "application/octet-stream"
_HEADER_LIST = re.compile(r"[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*|")
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+(; ?[\w.+-]+=[\w.+-]+)*", re.ASCII)


def s3_error(status: int, code: str, message: str) -> Response:
    """An S3-style XML error body."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def _local_store(request: Request) -> LocalObjectStore | None:
    store = get_store(request)
    return store if isinstance(store, LocalObjectStore) else None


def _no_bucket() -> Response:
    return s3_error(404, "NoSuchBucket", "This server does not store files itself")


@router.options("/uploads")
@router.options("/uploads/parts/{upload_id}/{part_number}")
@router.options("/files/{key:path}")
async def preflight(request: Request) -> Response:
    """CORS preflight for browser uploads and downloads."""
    asked = request.headers.get("access-control-request-headers", "")
    headers = {
        "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT",
        "Access-Control-Allow-Headers": asked if _HEADER_LIST.fullmatch(asked) else "",
        "Access-Control-Max-Age": "3600",
    }
    return Response(status_code=200, headers=headers)


@router.post("/uploads")
async def post_upload(request: Request) -> Response:
    """Browser-based upload: the signed form fields, then ``file`` (last), as S3 takes it."""
    store = _local_store(request)
    if store is None:
        return _no_bucket()
    try:
        reader = FormReader(request.stream(), boundary_of(request.headers.get("content-type")))
        accepted = await _verified_form(reader, store)
        limit = store.settings.upload_max_size
        if accepted.max_size is not None:
            limit = min(limit, accepted.max_size)
        data = _at_least(reader.stream_value(), accepted.min_size)
        meta = await store.put_stream(accepted.key, data, max_size=limit)
    except PostRejected as exc:
        return s3_error(exc.status, exc.code, exc.message)
    except MalformedForm as exc:
        return s3_error(400, "MalformedPOSTRequest", str(exc))
    except ObjectTooLarge:
        return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum size")
    except ObjectTooSmall:
        return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum")
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening any more
    return Response(status_code=204, headers=_etag(meta))


async def _verified_form(reader: FormReader, store: LocalObjectStore) -> AcceptedPost:
    """Read the fields up to ``file`` and check them against their signed policy."""
    fields: list[tuple[str, str]] = []
    budget = MAX_FORM_FIELDS_BYTES
    while (part := await reader.next_part()) is not None:
        if part.name.lower() == "file":
            accepted = store.post_signer.verify(fields, now=datetime.now(UTC))
            try:
                validate_key(accepted.key)
            except InvalidKey as exc:
                raise PostRejected(400, "InvalidArgument", "Invalid key") from exc
            return accepted
        value = await reader.read_value(budget)
        budget -= len(value)
        fields.append((part.name, value.decode("utf-8", "replace")))
    raise PostRejected(400, "InvalidArgument", "POST requires exactly one file upload")


async def _at_least(chunks: AsyncIterable[bytes], minimum: int) -> AsyncIterator[bytes]:
    """Pass chunks on; fail at the end when fewer than ``minimum`` bytes came (inside the
    stream, so the store abandons the write)."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        yield chunk
    if total < minimum:
        raise ObjectTooSmall()


def _etag(meta: ObjectMeta) -> dict[str, str]:
    return {"ETag": meta.etag} if meta.etag else {}


def _part_writable(session: Session, upload_id: str) -> bool:
    """Whether parts may still arrive for this upload (exists, not completing, not expired)."""
    row = session.execute(
        select(MultipartUpload.status, MultipartUpload.expires_at).where(
            MultipartUpload.id == upload_id
        )
    ).one_or_none()
    return (
        row is not None
        and row.status in (NOT_STARTED, FAILED)
        and row.expires_at > datetime.now(UTC)
    )


@router.put("/uploads/parts/{upload_id}/{part_number}")
async def put_part(upload_id: str, part_number: str, request: Request) -> Response:
    """One part of a multipart upload; a repeated PUT replaces the part (resumable)."""
    store = _local_store(request)
    if store is None:
        return _no_bucket()
    number = int(part_number) if part_number.isdigit() and len(part_number) <= 5 else 0
    if not is_id(upload_id) or not 1 <= number <= MAX_PART_NUMBER:
        return s3_error(404, "NoSuchUpload", "The specified upload does not exist")
    query = dict(request.query_params)
    path = part_url_path(upload_id, number)
    problem = store.url_signer.verify("part", path, query, PART_PARAMS, time.time())
    if problem is not None:
        return s3_error(403, *problem)
    db = await get_db(request)
    if not await db.run(_part_writable, upload_id):
        return s3_error(404, "NoSuchUpload", "The upload does not take parts any more")
    size = int(query["size"])
    try:
        body = _at_least(request.stream(), size)
        meta = await store.put_stream(part_key(upload_id, number), body, max_size=size)
    except ObjectTooLarge:
        return s3_error(400, "EntityTooLarge", f"This part must be {size} bytes")
    except ObjectTooSmall:
        return s3_error(400, "IncompleteBody", f"This part must be {size} bytes")
    except ClientDisconnect:
        return Response(status_code=400)
    return Response(status_code=200, headers=_etag(meta))


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"])
async def get_file(key: str, request: Request) -> Response:
    """A signed download, with single-range support (206/416)."""
    store = _local_store(request)
    if store is None:
        return _no_bucket()
    query = dict(request.query_params)
    problem = store.url_signer.verify(
        "download", f"{FILES_PATH}/{key}", query, DOWNLOAD_PARAMS, time.time()
    )
    if problem is not None:
        return s3_error(403, *problem)
    try:
        meta = await store.head(key)
    except InvalidKey:
        meta = None
    if meta is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    headers = _download_headers(meta, query)
    try:
        span = parse_range(request.headers.get("range"), meta.size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{meta.size}"
        return s3_error_with(416, "InvalidRange", "The requested range is not satisfiable", headers)
    status, start, end = 200, 0, meta.size
    if span is not None:
        status, (start, end) = 206, span
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{meta.size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD" or end == start:
        return Response(status_code=status, headers=headers)
    body = store.stream(key, start, end)
    return StreamingResponse(body, status_code=status, headers=headers)


def s3_error_with(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    """``s3_error`` plus extra headers."""
    response = s3_error(status, code, message)
    response.headers.update(headers)
    return response


def _download_headers(meta: ObjectMeta, query: dict[str, str]) -> dict[str, str]:
    disposition = "inline" if query.get("disposition") == "inline" else "attachment"
    content_type = query.get("type", "")
    headers = {
        "Content-Type": content_type if _MIME.fullmatch(content_type) else OCTET_STREAM,
        "Content-Disposition": content_disposition(disposition, query.get("filename") or "file"),
        "Accept-Ranges": "bytes",
        "Last-Modified": format_datetime(meta.last_modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "private, max-age=300",
        # Uploaded bytes are untrusted: never let a browser run them as a page of ours.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if meta.etag:
        headers["ETag"] = meta.etag
    return headers
