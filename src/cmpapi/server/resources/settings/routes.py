"""Settings tag: getSettings, updateSettings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.bounds import check_body
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.settings import service
from cmpapi.wire import Settings as SettingsDocument
from cmpapi.wire import SettingsResources, SettingsUpdateResponse
from cmpapi.wire import UpdateSettingsParametersQuery as UpdateQuery

router = Router(tags=["Settings"])


async def settings_body(request: Request) -> SettingsResources:
    """The body as ``SettingsResources``, sent bare or wrapped in ``{"resources": ...}``
    (the docs show both; the spec says bare)."""
    try:
        raw: Any = await request.json()
    except ValueError:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "Invalid JSON"}]
        ) from None
    if isinstance(raw, dict) and set(raw) == {"resources"}:
        raw = raw["resources"]
    try:
        return check_body(SettingsResources.model_validate(raw))
    except ValidationError as exc:
        details = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(details, body=raw) from None


@router.get(
    "/settings",
    operation_id="getSettings",
    response_model=SettingsDocument,
    responses=error_responses(401, 403),
)
async def get_settings(api: ApiDep) -> Response:
    """The organization's settings (admins only: webhook secrets are included)."""
    resources = await api.call(service.get_settings)
    return wire_response(SettingsDocument.model_validate({"resources": resources}))


@router.post(
    "/settings",
    operation_id="updateSettings",
    response_model=SettingsUpdateResponse,
    responses=error_responses(401, 403, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SettingsResources"}}
            },
        }
    },
)
async def update_settings(
    request: Request,
    api: ApiDep,
    body: Annotated[SettingsResources, Depends(settings_body)],
    params: Annotated[UpdateQuery, Depends(query(UpdateQuery))],
) -> Response:
    """Import settings by name; a dry run (the changeset only) unless ``execute=true``."""
    execute = params.execute is True
    overwrite = params.overwrite_workflows is True
    settings = request.app.state.settings

    def answer(changeset: dict[str, dict[str, list[str]]]) -> Response:
        resources = body.model_dump(mode="json", exclude_unset=False)
        return wire_response(
            SettingsUpdateResponse.model_validate({"resources": resources, "changeset": changeset})
        )

    return await api.answer(answer, service.update_settings, settings, body, execute, overwrite)
