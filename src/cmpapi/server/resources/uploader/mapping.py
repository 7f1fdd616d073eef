"""Uploader rows and signed forms to wire models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cmpapi.server.http.links import Links
from cmpapi.server.storage.tables import MultipartUpload
from cmpapi.wire import (
    CompleteMultipartUploadResponse,
    CreateMultipartUploadResponse,
    GetMultipartUploadStatusResponse,
    GetUploadUrlResponse,
)


def upload_url(url: str, fields: Mapping[str, str]) -> GetUploadUrlResponse:
    """getUploadUrl: the form's target and its fields (in the order clients must send)."""
    return GetUploadUrlResponse.model_validate({"url": url, "upload_meta_fields": dict(fields)})


def _status_link(upload: MultipartUpload, links: Links) -> str:
    return links.to("getMultipartUploadStatus", id=upload.id)


def created(
    upload: MultipartUpload, part_urls: Sequence[str], links: Links
) -> CreateMultipartUploadResponse:
    """createMultipartUpload: one signed PUT URL per part, in part order."""
    return CreateMultipartUploadResponse.model_validate(
        {
            "id": upload.id,
            "expires_at": upload.expires_at,
            "upload_part_count": upload.part_count,
            "upload_part_urls": list(part_urls),
            "links": {
                "complete": links.to("completeMultipartUpload", id=upload.id),
                "status": _status_link(upload, links),
            },
        }
    )


def completion_started(upload: MultipartUpload, links: Links) -> CompleteMultipartUploadResponse:
    """completeMultipartUpload: the final key, and where to watch the assembly."""
    return CompleteMultipartUploadResponse.model_validate(
        {"key": upload.key, "links": {"status": _status_link(upload, links)}}
    )


def status(upload: MultipartUpload, links: Links) -> GetMultipartUploadStatusResponse:
    """getMultipartUploadStatus."""
    return GetMultipartUploadStatusResponse.model_validate(
        {
            "id": upload.id,
            "key": upload.key,
            "expires_at": upload.expires_at,
            "status": upload.status,
            "status_message": upload.status_message,
            "links": {"self": _status_link(upload, links)},
        }
    )
