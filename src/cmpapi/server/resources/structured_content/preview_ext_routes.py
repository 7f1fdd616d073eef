"""cmpapi's own content preview API (``/ext/v1``, CMP error bodies; docs/ext-api.md):
ask for a preview of a task's structured content (the CMP has no operation for it), read
a preview, list a content's previews. The handshake itself is ``preview_routes.py``."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.responses import json_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.structured_content import previews as service
from cmpapi.server.resources.structured_content.preview_tables import ContentPreview

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: content previews"])
EXT_PREVIEWS = "/tasks/{task_id}/structured-contents/{content_id}/previews"
EXT_ERRORS = error_responses(400, 401, 403, 404, 422)


def _at(value: Any) -> str | None:
    return timestamp(value) if value is not None else None


def preview_view(preview: ContentPreview, links: Links) -> dict[str, Any]:
    """A preview's state as the /ext/v1 API shows it."""
    return {
        "id": preview.id,
        "task_id": preview.task_id,
        "content_id": preview.content_id,
        "version_id": preview.fields_version_id,
        "content_hash": preview.content_hash,
        "status": preview.status,
        "requested_by": preview.requested_by,
        "requested_at": timestamp(preview.requested_at),
        "acknowledged_by": preview.acknowledged_by,
        "acknowledged_at": _at(preview.acknowledged_at),
        "completed_at": _at(preview.completed_at),
        "keyed_previews": preview.keyed_previews,
        "links": {
            "self": links.url(f"/ext/v1/previews/{preview.id}"),
            "content": links.to(
                "getTaskStructuredContent", task_id=preview.task_id, content_id=preview.content_id
            ),
            **service.action_links(links, preview),
        },
    }


@router.post(
    EXT_PREVIEWS, operation_id="extRequestContentPreview", status_code=201, responses=EXT_ERRORS
)
async def ext_request_content_preview(task_id: str, content_id: str, api: ApiDep) -> Response:
    """Ask for a preview of a task's structured content: records content_preview_requested."""
    return await api.answer(
        lambda preview: json_response(preview_view(preview, api.links), 201),
        service.ext_request_content_preview,
        api.links,
        task_id,
        content_id,
    )


@router.get(EXT_PREVIEWS, operation_id="extListContentPreviews", responses=EXT_ERRORS)
async def ext_list_content_previews(task_id: str, content_id: str, api: ApiDep) -> Response:
    """The content's previews, oldest first (the last 100)."""
    rows = await api.call(service.ext_list_content_previews, task_id, content_id)
    return json_response({"data": [preview_view(p, api.links) for p in rows]})


@router.get("/previews/{preview_id}", operation_id="extGetContentPreview", responses=EXT_ERRORS)
async def ext_get_content_preview(preview_id: str, api: ApiDep) -> Response:
    """One preview: who asked, who acknowledged, the keyed previews delivered."""
    preview = await api.call(service.ext_get_content_preview, preview_id)
    return json_response(preview_view(preview, api.links))
