"""A task's structured contents (tag "Tasks"): addStructuredContentToTask,
getTaskStructuredContent, updateTaskStructuredContent, deleteTaskStructuredContent,
createTaskStructuredContentDraft. These declare the CMP ``Error`` bodies (not the
``/structured-content`` routers' FastAPI shape).

Field values are validated from the body as sent (``fields``, the draft's
``content_body``): the parsed model checks the shape, the content service the values."""

from __future__ import annotations

from fastapi import Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.deps import Api
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.structured_content import mapping
from cmpapi.server.resources.structured_content import task_contents as service
from cmpapi.server.resources.structured_content.contents import ContentView
from cmpapi.server.resources.structured_content.raw import raw_part
from cmpapi.wire import (
    ContentDetailsModel,
    TaskStructuredContentCreateRequest,
    TaskStructuredContentDraftRequest,
    TaskStructuredContentUpdateRequest,
)

router = Router(tags=["Tasks"])
CONTENTS = "/tasks/{task_id}/structured-contents"
CONTENT = CONTENTS + "/{content_id}"


def details(api: Api, view: ContentView) -> ContentDetailsModel:
    """A task's content as ``ContentDetailsModel`` (``links.self``: getTaskStructuredContent)."""
    c = view.content
    assert c.task_id is not None  # a task's content
    here = api.links.to("getTaskStructuredContent", task_id=c.task_id, content_id=c.id)
    return mapping.content_details(
        c, view.content_type, view.version, view.fields_version, api.links, here
    )


@router.post(
    CONTENTS,
    operation_id="addStructuredContentToTask",
    status_code=201,
    response_model=ContentDetailsModel,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_structured_content_to_task(
    request: Request, task_id: str, body: TaskStructuredContentCreateRequest, api: ApiDep
) -> Response:
    """A new structured content of the task (a task asset of type structured_content)."""
    raw = await raw_part(request, "fields")
    return await api.answer(
        lambda view: wire_response(details(api, view), 201),
        service.add_structured_content_to_task,
        api.links,
        task_id,
        body,
        raw,
    )


@router.get(
    CONTENT,
    operation_id="getTaskStructuredContent",
    response_model=ContentDetailsModel,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_structured_content(task_id: str, content_id: str, api: ApiDep) -> Response:
    """One structured content of the task, with its latest fields version."""
    view = await api.call(service.get_task_structured_content, task_id, content_id)
    return wire_response(details(api, view))


@router.patch(
    CONTENT,
    operation_id="updateTaskStructuredContent",
    response_model=ContentDetailsModel,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_structured_content(
    request: Request,
    task_id: str,
    content_id: str,
    body: TaskStructuredContentUpdateRequest,
    api: ApiDep,
) -> Response:
    """Change the content's metadata and field values (keys left out keep theirs)."""
    raw = await raw_part(request, "fields")
    return await api.answer(
        lambda view: wire_response(details(api, view)),
        service.update_task_structured_content,
        api.links,
        task_id,
        content_id,
        body,
        raw,
    )


@router.delete(
    CONTENT,
    operation_id="deleteTaskStructuredContent",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def delete_task_structured_content(task_id: str, content_id: str, api: ApiDep) -> Response:
    """Remove the content from the task."""
    await api.call(service.delete_task_structured_content, api.links, task_id, content_id)
    return no_content()


@router.post(
    CONTENT + "/drafts",
    operation_id="createTaskStructuredContentDraft",
    status_code=201,
    response_model=ContentDetailsModel,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_task_structured_content_draft(
    request: Request,
    task_id: str,
    content_id: str,
    body: TaskStructuredContentDraftRequest,
    api: ApiDep,
) -> Response:
    """A new fields version replacing one locale's values of the fields it names; the
    answer is the content with that version (the spec's ``object``)."""
    raw = await request.json()
    return await api.answer(
        lambda view: wire_response(details(api, view), 201),
        service.create_task_structured_content_draft,
        api.links,
        task_id,
        content_id,
        raw,
    )
