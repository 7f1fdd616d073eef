"""Task metadata (Tasks tag): listTaskAttachments, getTaskBrief, addUrlToTask,
createTaskPublishingIntent; the field operations (``field_routes``) are included here so
the app registers one router for both."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library.files import SignerDep
from cmpapi.server.resources.subresources import mapping as shared
from cmpapi.server.resources.tasks import field_routes, metadata_service
from cmpapi.server.resources.tasks import metadata_mapping as mapping
from cmpapi.wire import (
    AddUrlToTaskRequest,
    ListTaskAttachmentsParametersQuery,
    ListTaskAttachmentsResponse,
    TaskBriefResponse,
    TaskPublishingIntentCreateRequest,
    TaskPublishingIntentResponse,
    TaskUrlResponse,
)

router = Router(tags=["Tasks"])
router.include_router(field_routes.router)

AttachmentsQuery = Annotated[
    ListTaskAttachmentsParametersQuery, Depends(query(ListTaskAttachmentsParametersQuery))
]


@router.get(
    "/tasks/{id}/attachments",
    operation_id="listTaskAttachments",
    response_model=ListTaskAttachmentsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_attachments(
    request: Request, id: str, params: AttachmentsQuery, api: ApiDep, sign: SignerDep
) -> Response:
    """The task's files (from its comments) and links, oldest first."""
    page = await api.call(
        metadata_service.list_task_attachments, id, params.offset, params.page_size
    )
    data = [shared.attachment_item(row, sign) for row in page.items]
    return page_response(ListTaskAttachmentsResponse, request, api.links, page, data)


@router.get(
    "/tasks/{id}/brief",
    operation_id="getTaskBrief",
    response_model=TaskBriefResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_brief(id: str, api: ApiDep) -> Response:
    """The task's brief (404 when the task has none)."""
    brief = await api.call(metadata_service.get_task_brief, id)
    return wire_response(mapping.brief_response(brief, api.links))


@router.post(
    "/tasks/{task_id}/urls",
    operation_id="addUrlToTask",
    status_code=201,
    response_model=TaskUrlResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_url_to_task(task_id: str, body: AddUrlToTaskRequest, api: ApiDep) -> Response:
    """Add a link to the task (listed among its attachments)."""
    return await api.answer(
        lambda row: wire_response(mapping.url_response(row), 201),
        metadata_service.add_url_to_task,
        task_id,
        body,
    )


@router.post(
    "/tasks/{task_id}/publishing-intents",
    operation_id="createTaskPublishingIntent",
    status_code=201,
    response_model=TaskPublishingIntentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_task_publishing_intent(
    task_id: str, body: TaskPublishingIntentCreateRequest, api: ApiDep
) -> Response:
    """Ask for the task to be published on a publishing channel."""
    return await api.answer(
        lambda intent_id: wire_response(mapping.publishing_intent_response(intent_id), 201),
        metadata_service.create_task_publishing_intent,
        api.links,
        task_id,
        body.channel_id,
    )
