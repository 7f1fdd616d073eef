"""What the CMP web app does and the Open API cannot: edit or drop a brief, delete a task,
a task asset or one of its drafts, edit or delete a work request's comment, delete a work
request. Integrations see these changes
only through their webhook events (``task_brief_modified``, ``task_removed``,
``task_asset_removed``, ``work_request_removed``, ...); these cmpapi operations let a
test or an integration developer cause them without a browser (docs/compat.md, "Web app
actions"). Bearer tokens as for /v3; the same roles and rules as the resources' own
operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.responses import json_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.library import files
from cmpapi.server.resources.subresources import service as subresources
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.server.resources.subresources.tables import Brief
from cmpapi.server.resources.tasks import removal as task_removal
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.server.resources.work_requests import removal as work_request_removal
from cmpapi.server.resources.work_requests.parent import WORK_REQUEST

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: web app actions"])

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class BriefField(BaseModel):
    """One titled part of a brief."""

    model_config = ConfigDict(extra="forbid")
    name: Text
    value: list[Annotated[str, StringConstraints(max_length=10_000)]] = Field(max_length=50)


class CommentRequest(BaseModel):
    """A comment's new text."""

    model_config = ConfigDict(extra="forbid")
    value: Annotated[str, StringConstraints(max_length=10_000)]


class BriefRequest(BaseModel):
    """A text brief, as the web app's brief editor writes it."""

    model_config = ConfigDict(extra="forbid")
    title: Text
    fields: list[BriefField] = Field(default_factory=list, max_length=50)


WRITES = error_responses(401, 403, 404, 422)


def _brief(row: Brief) -> dict[str, Any]:
    return {"type": row.type, "title": row.title, "fields": row.fields}


async def _put_brief(api: ApiDep, parent: Parent, owner_id: str, body: BriefRequest) -> Response:
    fields = [{"name": f.name, "settings_field_id": None, "value": f.value} for f in body.fields]
    row = await api.call(
        subresources.put_brief, api.links, parent, owner_id, title=body.title, fields=fields
    )
    return json_response(_brief(row))


@router.put("/tasks/{task_id}/brief", operation_id="extPutTaskBrief", responses=WRITES)
async def ext_put_task_brief(task_id: str, body: BriefRequest, api: ApiDep) -> Response:
    """Give the task a text brief or replace its brief (task_brief_added / _modified)."""
    return await _put_brief(api, TASK, task_id, body)


@router.delete(
    "/tasks/{task_id}/brief", operation_id="extDeleteTaskBrief", status_code=204, responses=WRITES
)
async def ext_delete_task_brief(task_id: str, api: ApiDep) -> Response:
    """Drop the task's brief (task_brief_removed)."""
    await api.call(subresources.remove_brief, api.links, TASK, task_id)
    return Response(status_code=204)


@router.put("/campaigns/{campaign_id}/brief", operation_id="extPutCampaignBrief", responses=WRITES)
async def ext_put_campaign_brief(campaign_id: str, body: BriefRequest, api: ApiDep) -> Response:
    """Give the campaign a text brief or replace its brief (campaign_brief_added /
    _modified)."""
    return await _put_brief(api, CAMPAIGN, campaign_id, body)


@router.delete(
    "/campaigns/{campaign_id}/brief",
    operation_id="extDeleteCampaignBrief",
    status_code=204,
    responses=WRITES,
)
async def ext_delete_campaign_brief(campaign_id: str, api: ApiDep) -> Response:
    """Drop the campaign's brief (campaign_brief_removed)."""
    await api.call(subresources.remove_brief, api.links, CAMPAIGN, campaign_id)
    return Response(status_code=204)


@router.delete("/tasks/{task_id}", operation_id="extDeleteTask", status_code=204, responses=WRITES)
async def ext_delete_task(task_id: str, request: Request, api: ApiDep) -> Response:
    """Delete a task and everything it holds (task_removed)."""
    gone = await api.call(task_removal.delete_task, api.links, task_id)
    await files.remove(request, gone)  # committed: the files are no one's any more
    return Response(status_code=204)


@router.delete(
    "/tasks/{task_id}/assets/{asset_id}",
    operation_id="extRemoveTaskAsset",
    status_code=204,
    responses=WRITES,
)
async def ext_remove_task_asset(
    task_id: str, asset_id: str, request: Request, api: ApiDep
) -> Response:
    """Remove an asset from its task, with its drafts and comments (task_asset_removed)."""
    gone = await api.call(task_removal.remove_task_asset, api.links, task_id, asset_id)
    await files.remove(request, gone)
    return Response(status_code=204)


@router.delete(
    "/tasks/{task_id}/assets/{asset_id}/drafts/{draft_id}",
    operation_id="extRemoveTaskAssetDraft",
    status_code=204,
    responses=WRITES,
)
async def ext_remove_task_asset_draft(
    task_id: str, asset_id: str, draft_id: str, request: Request, api: ApiDep
) -> Response:
    """Remove one draft of a task asset (task_asset_draft_removed)."""
    gone = await api.call(
        task_removal.remove_task_asset_draft, api.links, task_id, asset_id, draft_id
    )
    await files.remove(request, gone)
    return Response(status_code=204)


@router.delete(
    "/work-requests/{work_request_id}",
    operation_id="extDeleteWorkRequest",
    status_code=204,
    responses=WRITES,
)
async def ext_delete_work_request(work_request_id: str, request: Request, api: ApiDep) -> Response:
    """Delete a work request with its files and comments (work_request_removed)."""
    gone = await api.call(work_request_removal.delete_work_request, api.links, work_request_id)
    await files.remove(request, gone)
    return Response(status_code=204)


WR_COMMENT = "/work-requests/{work_request_id}/comments/{comment_id}"


@router.patch(WR_COMMENT, operation_id="extUpdateWorkRequestComment", responses=WRITES)
async def ext_update_work_request_comment(
    work_request_id: str, comment_id: str, body: CommentRequest, api: ApiDep
) -> Response:
    """Edit a work request comment, its author or an admin (work_request_comment_modified)."""
    view = await api.call(
        subresources.update_comment,
        api.links,
        WORK_REQUEST,
        work_request_id,
        comment_id,
        body.value,
    )
    return json_response({"id": view.row.id, "value": view.row.value})


@router.delete(
    WR_COMMENT, operation_id="extDeleteWorkRequestComment", status_code=204, responses=WRITES
)
async def ext_delete_work_request_comment(
    work_request_id: str, comment_id: str, request: Request, api: ApiDep
) -> Response:
    """Delete a work request comment and its replies (work_request_comment_removed)."""
    gone = await api.call(
        subresources.delete_comment, api.links, WORK_REQUEST, work_request_id, comment_id
    )
    await files.remove(request, gone)
    return Response(status_code=204)
