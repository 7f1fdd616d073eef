"""Content previews (Structured Contents tag; FastAPI-shaped errors, as the spec declares
for ``/structured-content/...``): acknowledgeSCContentPreview, completeSCContentPreview.
Requesting and reading previews is cmpapi's own API (``preview_ext_routes.py``)."""

from __future__ import annotations

from fastapi import Response

from cmpapi.server.http.api import ApiDep
from cmpapi.server.http.responses import json_response
from cmpapi.server.resources.structured_content import previews as service
from cmpapi.server.resources.structured_content.routes import sc_router, validation_responses
from cmpapi.wire import SCContentPreviewAcknowledgeRequest, SCContentPreviewCompleteRequest

router = sc_router()
PREVIEW = "/structured-content/contents/{content_id}/versions/{version_id}/previews/{preview_id}"


# -- the CMP's handshake -----------------------------------------------------------------


@router.post(
    PREVIEW + "/acknowledge",
    operation_id="acknowledgeSCContentPreview",
    responses=validation_responses(),
)
async def acknowledge_sc_content_preview(
    content_id: str,
    version_id: str,
    preview_id: str,
    body: SCContentPreviewAcknowledgeRequest,
    api: ApiDep,
) -> Response:
    """Take the preview on (once: a second acknowledgement is a 422)."""
    await api.call(service.acknowledge_sc_content_preview, content_id, version_id, preview_id, body)
    return json_response({})


@router.post(
    PREVIEW + "/complete", operation_id="completeSCContentPreview", responses=validation_responses()
)
async def complete_sc_content_preview(
    content_id: str,
    version_id: str,
    preview_id: str,
    body: SCContentPreviewCompleteRequest,
    api: ApiDep,
) -> Response:
    """Deliver the rendered previews of an acknowledged preview."""
    await api.call(service.complete_sc_content_preview, content_id, version_id, preview_id, body)
    return json_response({})
