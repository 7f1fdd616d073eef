"""Templates tag: listTemplates, getTemplate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.templates import mapping, service
from cmpapi.wire import ListTemplatesParametersQuery, TemplateListResponse, TemplateResponse

router = Router(tags=["Templates"])


@router.get(
    "/templates",
    operation_id="listTemplates",
    response_model=TemplateListResponse,
    responses=error_responses(400, 401, 403),
)
async def list_templates(
    request: Request,
    api: ApiDep,
    params: Annotated[ListTemplatesParametersQuery, Depends(query(ListTemplatesParametersQuery))],
) -> Response:
    """Templates by title; inactive ones only with ``include_inactive=true``."""
    page = await api.call(service.list_templates, params)
    data = [mapping.template_item(t, api.links) for t in page.items]
    return page_response(TemplateListResponse, request, api.links, page, data)


@router.get(
    "/templates/{template_id}",
    operation_id="getTemplate",
    response_model=TemplateResponse,
    responses=error_responses(401, 403, 404),
)
async def get_template(template_id: str, api: ApiDep) -> Response:
    """One template with its form fields."""
    template = await api.call(service.get_template, template_id)
    return wire_response(mapping.template_response(template, api.links))
