"""Starting work from a request (tag "Work Requests"): createTaskFromWorkRequest,
createCampaignFromWorkRequest."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.campaigns.mapping import reference_id
from cmpapi.server.resources.campaigns.service import CampaignView
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.tasks.views import TaskView
from cmpapi.server.resources.work_requests import starts
from cmpapi.wire import (
    WorkRequestCampaignRequest,
    WorkRequestCampaignResponse,
    WorkRequestTaskRequest,
    WorkRequestTaskResponse,
)

router = Router(tags=["Work Requests"])


def _when(value: datetime | None) -> str | None:
    return timestamp(value) if value is not None else None


def _day(value: date | None) -> str | None:
    # The answer has date-times: a campaign's day starts at midnight UTC.
    return f"{value.isoformat()}T00:00:00Z" if value is not None else None


def task_started(view: TaskView, links: Links) -> WorkRequestTaskResponse:
    """createTaskFromWorkRequest's answer."""
    task = view.task
    return WorkRequestTaskResponse.model_validate(
        {
            "id": task.id,
            "title": task.title,
            "start_at": _when(task.start_at),
            "due_at": _when(task.due_at),
            "owner_id": task.owner_id or "",
            "reference_id": str(task.number),
            "links": {
                "self": links.to("getTask", id=task.id),
                "owner": links.to("getUser", id=task.owner_id) if task.owner_id else None,
            },
        }
    )


def campaign_started(view: CampaignView, links: Links) -> WorkRequestCampaignResponse:
    """createCampaignFromWorkRequest's answer."""
    c = view.campaign
    return WorkRequestCampaignResponse.model_validate(
        {
            "id": c.id,
            "title": c.title,
            "description": c.description,
            "start_date": _day(c.start_date),
            "end_date": _day(c.end_date),
            "reference_id": reference_id(c),
            "owner_id": c.owner_id or "",
            "parent_campaign_id": c.parent_id or "",
            "links": {
                "self": links.to("getCampaign", id=c.id),
                "brief": links.to("getCampaignBrief", id=c.id) if view.has_brief else None,
                "parent_campaign": links.to("getCampaign", id=c.parent_id) if c.parent_id else None,
            },
        }
    )


@router.post(
    "/work-requests/{id}/tasks",
    operation_id="createTaskFromWorkRequest",
    status_code=201,
    response_model=WorkRequestTaskResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_task_from_work_request(
    id: str, body: WorkRequestTaskRequest, api: ApiDep
) -> Response:
    """Make a task from the request: it carries the request's brief and lists among the
    request's related resources."""
    return await api.answer(
        lambda view: wire_response(task_started(view, api.links), 201),
        starts.create_task_from_work_request,
        api.links,
        id,
        body,
    )


@router.post(
    "/work-requests/{id}/campaigns",
    operation_id="createCampaignFromWorkRequest",
    status_code=201,
    response_model=WorkRequestCampaignResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_campaign_from_work_request(
    id: str, body: WorkRequestCampaignRequest, api: ApiDep
) -> Response:
    """Make a campaign from the request (campaign_added names the request)."""
    return await api.answer(
        lambda view: wire_response(campaign_started(view, api.links), 201),
        starts.create_campaign_from_work_request,
        api.links,
        id,
        body,
    )
