"""Fields of tasks (Tasks tag): listTaskFields, addFieldToTask, updateTaskField,
removeTaskField, listTaskSubStepFields, and the custom-fields operations
listTaskCustomFields, getTaskCustomField, updateTaskCustomField, listTaskCustomFieldChoices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library.files import SignerDep as SignDep
from cmpapi.server.resources.tasks import field_custom, field_mapping, field_service
from cmpapi.wire import (
    ListTaskCustomFieldChoicesParametersQuery,
    ListTaskCustomFieldChoicesResponse,
    ListTaskCustomFieldsParametersQuery,
    ListTaskCustomFieldsResponse,
    ListTaskFieldsParametersQuery,
    ListTaskFieldsResponse,
    ListTaskSubStepFieldsParametersQuery,
    ListTaskSubStepFieldsResponse,
    ObjectFieldCreateRequest,
    ObjectFieldCreateResponse,
    TaskCustomField,
    TaskCustomFieldUpdateRequest,
    TaskFieldUpdateRequest,
)

router = Router(tags=["Tasks"])
FIELD = "/tasks/{task_id}/fields/{field_id}"
CUSTOM = "/tasks/{task_id}/custom-fields/{custom_field_id}"
SUB_STEP = "/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}"

FieldsQuery = Annotated[
    ListTaskFieldsParametersQuery, Depends(query(ListTaskFieldsParametersQuery))
]
CustomQuery = Annotated[
    ListTaskCustomFieldsParametersQuery, Depends(query(ListTaskCustomFieldsParametersQuery))
]
ChoicesQuery = Annotated[
    ListTaskCustomFieldChoicesParametersQuery,
    Depends(query(ListTaskCustomFieldChoicesParametersQuery)),
]
SubStepQuery = Annotated[
    ListTaskSubStepFieldsParametersQuery, Depends(query(ListTaskSubStepFieldsParametersQuery))
]


@router.get(
    "/tasks/{task_id}/fields",
    operation_id="listTaskFields",
    response_model=ListTaskFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_fields(
    request: Request, task_id: str, params: FieldsQuery, api: ApiDep, sign: SignDep
) -> Response:
    """The task's fields with their values."""
    page = await api.call(field_service.list_task_fields, task_id, params.offset, params.page_size)
    data = [field_mapping.task_field(fv, sign) for fv in page.items]
    return page_response(ListTaskFieldsResponse, request, api.links, page, data)


@router.post(
    "/tasks/{task_id}/fields",
    operation_id="addFieldToTask",
    status_code=201,
    response_model=ObjectFieldCreateResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_field_to_task(
    task_id: str, body: ObjectFieldCreateRequest, api: ApiDep, sign: SignDep
) -> Response:
    """Add one of the organization's fields, with values, to the task."""
    return await api.answer(
        lambda fv: wire_response(field_mapping.added_field(fv, sign), 201),
        field_service.add_field_to_task,
        api.links,
        task_id,
        body,
    )


@router.put(
    FIELD,
    operation_id="updateTaskField",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_field(
    task_id: str, field_id: str, body: TaskFieldUpdateRequest, api: ApiDep
) -> Response:
    """Replace the values of a field the task holds."""
    await api.call(field_service.update_task_field, api.links, task_id, field_id, body)
    return no_content()


@router.delete(
    FIELD,
    operation_id="removeTaskField",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
)
async def remove_task_field(task_id: str, field_id: str, api: ApiDep) -> Response:
    """Take a field and its values off the task."""
    await api.call(field_service.remove_task_field, api.links, task_id, field_id)
    return no_content()


@router.get(
    SUB_STEP + "/fields",
    operation_id="listTaskSubStepFields",
    response_model=ListTaskSubStepFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_sub_step_fields(
    request: Request,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    params: SubStepQuery,
    api: ApiDep,
) -> Response:
    """The choice fields of the task, as its sub-steps' assignees set them."""
    page = await api.call(
        field_service.list_task_sub_step_fields,
        task_id,
        step_id,
        sub_step_id,
        params.offset,
        params.page_size,
    )
    data = [field_mapping.sub_step_field(fv) for fv in page.items]
    return page_response(ListTaskSubStepFieldsResponse, request, api.links, page, data)


@router.get(
    "/tasks/{id}/custom-fields",
    operation_id="listTaskCustomFields",
    response_model=ListTaskCustomFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_custom_fields(
    request: Request, id: str, params: CustomQuery, api: ApiDep, sign: SignDep
) -> Response:
    """The task's fields that the custom-fields API has a type for."""
    page = await api.call(field_custom.list_task_custom_fields, id, params.offset, params.page_size)
    data = [field_mapping.custom_field(fv, id, api.links, sign) for fv in page.items]
    return page_response(ListTaskCustomFieldsResponse, request, api.links, page, data)


@router.get(
    CUSTOM,
    operation_id="getTaskCustomField",
    response_model=TaskCustomField,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_custom_field(
    task_id: str, custom_field_id: str, api: ApiDep, sign: SignDep
) -> Response:
    """One custom field of the task."""
    fv = await api.call(field_custom.get_task_custom_field, task_id, custom_field_id)
    return wire_response(field_mapping.custom_field(fv, task_id, api.links, sign))


@router.patch(
    CUSTOM,
    operation_id="updateTaskCustomField",
    response_model=TaskCustomField,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_custom_field(
    task_id: str,
    custom_field_id: str,
    body: TaskCustomFieldUpdateRequest,
    api: ApiDep,
    sign: SignDep,
) -> Response:
    """Replace a custom field's values (choice ids, a text or a ``YYYY-MM-DD`` date)."""
    return await api.answer(
        lambda fv: wire_response(field_mapping.custom_field(fv, task_id, api.links, sign)),
        field_custom.update_task_custom_field,
        api.links,
        task_id,
        custom_field_id,
        body.values,
    )


@router.get(
    CUSTOM + "/choices",
    operation_id="listTaskCustomFieldChoices",
    response_model=ListTaskCustomFieldChoicesResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_custom_field_choices(
    request: Request, task_id: str, custom_field_id: str, params: ChoicesQuery, api: ApiDep
) -> Response:
    """The choices of a custom field, in the field's order."""
    page = await api.call(
        field_custom.list_task_custom_field_choices,
        task_id,
        custom_field_id,
        params.offset,
        params.page_size,
    )
    data = [field_mapping.custom_field_choice(c) for c in page.items]
    return page_response(ListTaskCustomFieldChoicesResponse, request, api.links, page, data)
