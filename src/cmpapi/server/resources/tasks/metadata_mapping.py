"""Task metadata rows -> wire models (attachments, brief, URLs, publishing intents), and the
download-URL signer their files need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from cmpapi.server.http.links import Links, get_links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.tasks.metadata_tables import URL, TaskAttachment, TaskBrief
from cmpapi.server.storage.base import get_store
from cmpapi.wire import (
    AttachmentResponse,
    TaskBriefResponse,
    TaskPublishingIntentResponse,
    TaskUrlResponse,
)

OCTET_STREAM = "application/octet-stream"

Sign = Callable[[str, str, str], str]
"""``sign(storage_key, filename, content_type)``: a signed, expiring download URL."""


async def signer(request: Request) -> Sign:
    """Dependency: signs download URLs of stored objects (async: no threadpool hop)."""
    store = get_store(request)
    base = get_links(request).base

    def sign(key: str, filename: str, content_type: str) -> str:
        return store.download_url(key, filename=filename, content_type=content_type,
                                  base_url=base)  # fmt: skip

    return sign


SignDep = Annotated[Sign, Depends(signer)]


def attachment_response(row: TaskAttachment, sign: Sign) -> AttachmentResponse:
    """``{id, name, url}``: a link's own URL, or a signed download URL of a file."""
    if row.kind == URL:
        url = row.url or ""
    else:
        url = sign(row.storage_key or "", row.name, row.mime_type or OCTET_STREAM)
    return AttachmentResponse(id=row.id, name=row.name, url=url)


def brief_response(brief: TaskBrief, links: Links) -> TaskBriefResponse:
    """getTaskBrief."""
    template = (
        {"id": brief.template_id, "name": brief.template_name or ""} if brief.template_id else None
    )
    return TaskBriefResponse.model_validate({
        "type": brief.type,
        "title": brief.title,
        "template": template,
        "fields": brief.fields,
        "links": {"self": links.api("tasks", brief.task_id, "brief"),
                  "task": links.api("tasks", brief.task_id)},
    })  # fmt: skip


def url_response(row: TaskAttachment) -> TaskUrlResponse:
    """addUrlToTask."""
    return TaskUrlResponse.model_validate({"id": row.id, "created_at": timestamp(row.created_at)})


def publishing_intent_response(intent_id: str) -> TaskPublishingIntentResponse:
    """createTaskPublishingIntent."""
    return TaskPublishingIntentResponse(id=intent_id)
