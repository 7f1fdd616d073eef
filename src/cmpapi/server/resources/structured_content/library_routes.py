"""Structured contents in the library (Library tag): createStructuredContent,
getStructuredContent, updateStructuredContent. These answer errors with the CMP ``Error``
body, as the spec declares for them (unlike ``/structured-content/...``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.structured_content import library, mapping
from cmpapi.server.resources.structured_content.raw import raw_part
from cmpapi.wire import (
    LibraryStructuredContent,
    LibraryStructuredContentCreateRequest,
    LibraryStructuredContentUpdateRequest,
)

router = Router(tags=["Library"])
ITEM = "/structured-contents/{id}"


def _answer(api: ApiDep) -> Callable[[library.LibraryContent], Response]:
    def build(view: library.LibraryContent) -> Response:
        return wire_response(
            mapping.library_structured_content(view.asset, view.content, api.links)
        )

    return build


@router.post(
    "/structured-contents",
    operation_id="createStructuredContent",
    response_model=LibraryStructuredContent,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_structured_content(
    request: Request, body: LibraryStructuredContentCreateRequest, api: ApiDep
) -> Response:
    """A new structured content in the library (200, as the spec has it)."""
    fields = await raw_part(request, "content_body", "fields")
    return await api.answer(
        _answer(api), library.create_structured_content, api.links, body, fields
    )


@router.get(
    ITEM,
    operation_id="getStructuredContent",
    response_model=LibraryStructuredContent,
    responses=error_responses(400, 401, 403, 404),
)
async def get_structured_content(id: str, api: ApiDep) -> Response:
    """One structured content of the library."""
    view = await api.call(library.get_structured_content, id)
    return _answer(api)(view)


@router.patch(
    ITEM,
    operation_id="updateStructuredContent",
    response_model=LibraryStructuredContent,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_structured_content(
    request: Request, id: str, body: LibraryStructuredContentUpdateRequest, api: ApiDep
) -> Response:
    """Change a structured content's title, archive flag, metadata and fields."""
    fields = await raw_part(request, "content_body", "fields")
    return await api.answer(
        _answer(api), library.update_structured_content, api.links, id, body, fields
    )
