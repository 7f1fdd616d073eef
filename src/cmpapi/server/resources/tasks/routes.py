"""Tasks and Task Step tags, the workflow part: listTasks, createTask, getTask, updateTask,
updateTaskStep, getTaskSubStep, updateTaskSubStep, get/updateTaskSubStepExternalWork."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.tasks import mapping, service
from cmpapi.wire import (
    ListTasksParametersQuery,
    ListTasksResponse,
    TaskCreateRequest,
    TaskExternalWorkRequest,
    TaskExternalWorkResponse,
    TaskResponse,
    TaskStep,
    TaskStepRequest,
    TaskSubStep,
    TaskSubStepRequest,
    TaskUpdateRequest,
)

router = Router(tags=["Tasks"])
SUB_STEP = "/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}"


@router.get(
    "/tasks",
    operation_id="listTasks",
    response_model=ListTasksResponse,
    responses=error_responses(400, 401, 403),
)
async def list_tasks(
    request: Request,
    api: ApiDep,
    params: Annotated[ListTasksParametersQuery, Depends(query(ListTasksParametersQuery))],
) -> Response:
    """Tasks, most recently changed first; ``status`` takes several values."""
    page, now = await api.call(service.list_tasks, params)
    data = [mapping.task_list_item(t, api.links, now) for t in page.items]
    return page_response(ListTasksResponse, request, api.links, page, data)


@router.post(
    "/tasks",
    operation_id="createTask",
    status_code=201,
    response_model=TaskResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_task(body: TaskCreateRequest, api: ApiDep) -> Response:
    """Create a task, from a workflow when ``workflow_id`` is given."""
    return await api.answer(
        lambda view: wire_response(mapping.task_response(view, api.links), 201),
        service.create_task,
        api.links,
        body,
    )


@router.get(
    "/tasks/{id}",
    operation_id="getTask",
    response_model=TaskResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task(id: str, api: ApiDep) -> Response:
    """A task with its steps and sub-steps."""
    return wire_response(mapping.task_response(await api.call(service.get_task, id), api.links))


@router.patch(
    "/tasks/{id}",
    operation_id="updateTask",
    response_model=TaskResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def update_task(id: str, body: TaskUpdateRequest, api: ApiDep) -> Response:
    """Change a task's title, dates, owner, labels or (before it starts) workflow."""
    return await api.answer(
        lambda view: wire_response(mapping.task_response(view, api.links)),
        service.update_task,
        api.links,
        id,
        body,
    )


@router.patch(
    "/tasks/{task_id}/steps/{step_id}",
    operation_id="updateTaskStep",
    response_model=TaskStep,
    tags=["Task Step"],
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_step(
    task_id: str, step_id: str, body: TaskStepRequest, api: ApiDep
) -> Response:
    """Set a step's due date (an empty body changes nothing)."""
    due_at = body.due_at if isinstance(body.due_at, datetime) else None
    return await api.answer(
        lambda changed: wire_response(mapping.step(*changed, api.links)),
        service.update_task_step,
        api.links,
        task_id,
        step_id,
        due_at,
    )


@router.get(
    SUB_STEP,
    operation_id="getTaskSubStep",
    response_model=TaskSubStep,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_sub_step(task_id: str, step_id: str, sub_step_id: str, api: ApiDep) -> Response:
    """One sub-step."""
    ss = await api.call(service.get_task_sub_step, task_id, step_id, sub_step_id)
    return wire_response(mapping.sub_step(ss, api.links))


@router.patch(
    SUB_STEP,
    operation_id="updateTaskSubStep",
    response_model=TaskSubStep,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_sub_step(
    task_id: str, step_id: str, sub_step_id: str, body: TaskSubStepRequest, api: ApiDep
) -> Response:
    """Start, complete or skip a sub-step, or change its assignee (one per request)."""
    return await api.answer(
        lambda ss: wire_response(mapping.sub_step(ss, api.links)),
        service.update_task_sub_step,
        api.links,
        task_id,
        step_id,
        sub_step_id,
        body,
    )


@router.get(
    SUB_STEP + "/external-work",
    operation_id="getTaskSubStepExternalWork",
    response_model=TaskExternalWorkResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_sub_step_external_work(
    task_id: str, step_id: str, sub_step_id: str, api: ApiDep
) -> Response:
    """The ticket linked to an external sub-step."""
    ss, system = await api.call(
        service.get_task_sub_step_external_work, task_id, step_id, sub_step_id
    )
    return wire_response(mapping.external_work(ss, system, api.links))


@router.patch(
    SUB_STEP + "/external-work",
    operation_id="updateTaskSubStepExternalWork",
    response_model=TaskExternalWorkResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_sub_step_external_work(
    task_id: str, step_id: str, sub_step_id: str, body: TaskExternalWorkRequest, api: ApiDep
) -> Response:
    """Link a ticket to an external sub-step, or report its progress."""
    return await api.answer(
        lambda work: wire_response(mapping.external_work(*work, api.links)),
        service.update_task_sub_step_external_work,
        task_id,
        step_id,
        sub_step_id,
        body,
    )
