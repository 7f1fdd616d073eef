"""Fields (tag "Fields"): listFields, createField, updateField, createFieldChoices,
updateFieldChoice, deleteFieldChoice."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import MISSING

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.fields import mapping, service
from cmpapi.wire import (
    CreateFieldResponse,
    ListFieldsParametersQuery,
    ListFieldsResponse,
    SettingsFieldChoiceCreateRequest,
    SettingsFieldChoiceCreateResponse,
    SettingsFieldChoiceUpdateRequest,
    SettingsFieldCreateRequest,
    SettingsFieldUpdateRequest,
)

router = Router(tags=["Fields"])
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Successful response"}}


class ListFieldsQuery(ListFieldsParametersQuery):  # type: ignore[misc]
    """The spec types ``ids`` as one string but documents it as repeatable
    (``ids=fieldId1&ids=fieldId2``): it is a list here."""

    ids: list[str] | MISSING = MISSING


@router.get(
    "/fields",
    operation_id="listFields",
    response_model=ListFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_fields(
    request: Request,
    api: ApiDep,
    params: Annotated[ListFieldsQuery, Depends(query(ListFieldsQuery))],
) -> Response:
    """Get the list of fields of an Organization."""
    ids = params.ids if params.ids is not MISSING else []
    page, choices = await api.call(service.list_fields, ids, params.offset, params.page_size)
    return page_response(
        ListFieldsResponse,
        request,
        api.links,
        page,
        [mapping.list_fields_item(f, choices.get(f.id, ()), api.links) for f in page.items],
    )


@router.post(
    "/fields",
    operation_id="createField",
    status_code=201,
    response_model=CreateFieldResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_field(body: SettingsFieldCreateRequest, api: ApiDep) -> Response:
    """Add a new field to an Organization."""
    return await api.answer(
        lambda field: wire_response(CreateFieldResponse(id=field.id), 201),
        service.create_field,
        body,
    )


@router.patch(
    "/fields/{id}",
    operation_id="updateField",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **error_responses(400, 401, 403, 404, 422)},
)
async def update_field(id: str, body: SettingsFieldUpdateRequest, api: ApiDep) -> Response:
    """Update a field in an Organization."""
    await api.call(service.update_field, id, body)
    return no_content()


@router.post(
    "/fields/{id}/choices",
    operation_id="createFieldChoices",
    status_code=201,
    response_model=SettingsFieldChoiceCreateResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_field_choices(
    id: str, body: SettingsFieldChoiceCreateRequest, api: ApiDep
) -> Response:
    """Create choices in a field; answers with all the field's choices."""
    return await api.answer(
        lambda field: wire_response(mapping.field_choices(field), 201),
        service.create_field_choices,
        id,
        body,
    )


@router.patch(
    "/fields/{field_id}/choices/{choice_id}",
    operation_id="updateFieldChoice",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **error_responses(400, 401, 403, 404, 422)},
)
async def update_field_choice(
    field_id: str, choice_id: str, body: SettingsFieldChoiceUpdateRequest, api: ApiDep
) -> Response:
    """Update a choice of a field."""
    await api.call(service.update_field_choice, field_id, choice_id, body)
    return no_content()


@router.delete(
    "/fields/{field_id}/choices/{choice_id}",
    operation_id="deleteFieldChoice",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **error_responses(400, 401, 403, 404, 422)},
)
async def delete_field_choice(field_id: str, choice_id: str, api: ApiDep) -> Response:
    """Delete a choice from a field (and from the values objects hold)."""
    await api.call(service.delete_field_choice, field_id, choice_id)
    return no_content()
