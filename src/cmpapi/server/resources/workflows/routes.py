"""Workflows tag: listWorkflows, getWorkflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.workflows import mapping, service
from cmpapi.wire import ListWorkflowsParametersQuery, ListWorkflowsResponse, WorkflowResponse

router = Router(tags=["Workflows"])


@router.get(
    "/workflows",
    operation_id="listWorkflows",
    response_model=ListWorkflowsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_workflows(
    request: Request,
    api: ApiDep,
    params: Annotated[ListWorkflowsParametersQuery, Depends(query(ListWorkflowsParametersQuery))],
) -> Response:
    """Active workflows by name."""
    page = await api.call(service.list_workflows, params.offset, params.page_size)
    data = [mapping.workflow_list_item(w) for w in page.items]
    return page_response(ListWorkflowsResponse, request, api.links, page, data)


@router.get(
    "/workflows/{workflow_id}",
    operation_id="getWorkflow",
    response_model=WorkflowResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_workflow(workflow_id: str, api: ApiDep) -> Response:
    """A workflow with its steps, sub-steps and their assignees."""
    workflow, names = await api.call(service.get_workflow, workflow_id)
    return wire_response(mapping.workflow_response(workflow, names, api.links))
