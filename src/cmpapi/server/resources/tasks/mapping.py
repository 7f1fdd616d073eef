"""Task rows -> wire models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.labels.service import resource_labels
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.tasks import engine
from cmpapi.server.resources.tasks.engine import Flow
from cmpapi.server.resources.tasks.events import sub_step_url
from cmpapi.server.resources.tasks.tables import DONE, SKIPPED, STARTED, Task, TaskSubStep
from cmpapi.server.resources.tasks.tables import TaskStep as TaskStepRow
from cmpapi.server.resources.tasks.views import TaskView
from cmpapi.wire import (
    TaskExternalWorkResponse,
    TaskResponse,
    TaskStep,
)
from cmpapi.wire import (
    TaskSubStep as WireSubStep,
)

# assignee type -> the operation serving it
_ASSIGNEES = {"user": "getUser", "team": "getTeam"}


def web_url(links: Links, *segments: str) -> str:
    """The task's page in the web app (cmpapi serves none yet; docs/compat.md)."""
    return links.url("/web/" + "/".join(segments))


def _campaign(links: Links, task: Task) -> str:
    # TaskResponse.links.campaign is a required, non-nullable string: without a campaign it
    # points at the campaigns collection (listCampaigns), never at a missing campaign
    # (docs/compat.md).
    return (
        links.to("getCampaign", id=task.campaign_id)
        if task.campaign_id
        else links.to("listCampaigns")
    )


def sub_step(ss: TaskSubStep, links: Links) -> WireSubStep:
    """The spec's ``TaskSubStep``."""
    assignee = links.to(_ASSIGNEES[ss.assignee_type], id=ss.assignee_id) if ss.assignee_id else None
    return WireSubStep.model_validate(
        {
            "id": ss.id,
            "title": ss.title,
            "assignee_id": ss.assignee_id,
            "assignee_type": ss.assignee_type,
            "is_completed": ss.state == DONE,
            "is_in_progress": ss.state == STARTED,
            "is_skipped": ss.state == SKIPPED,
            "is_external": ss.is_external,
            "links": {
                "self": sub_step_url(links, ss),
                "task": links.to("getTask", id=ss.task_id),
                "external_work": sub_step_url(links, ss, "getTaskSubStepExternalWork")
                if ss.is_external
                else None,
                "assignee": assignee,
            },
        }
    )


def step(flow: Flow, s: TaskStepRow, links: Links) -> TaskStep:
    """The spec's ``TaskStep`` with its sub-steps."""
    return TaskStep(
        id=s.id,
        title=s.title,
        description=s.description,
        due_at=s.due_at,
        is_completed=s.is_completed,
        sub_steps=[sub_step(ss, links) for ss in flow.of_step(s)],
    )


def steps(flow: Flow, links: Links) -> list[TaskStep]:
    """The task's steps in workflow order."""
    return [step(flow, s, links) for s in flow.steps]


def task_response(view: TaskView, links: Links) -> TaskResponse:
    """getTask, createTask, updateTask."""
    task = view.task
    return TaskResponse.model_validate(
        {
            "id": task.id,
            "title": task.title,
            "start_at": task.start_at,
            "due_at": task.due_at,
            "is_completed": task.is_completed,
            "is_archived": task.is_archived,
            "reference_id": str(task.number),
            "status": engine.status(task, view.now),
            "campaign_id": task.campaign_id,
            "milestone_id": task.milestone_id,
            "workflow_id": task.workflow_id,
            "modified_at": timestamp(task.modified_at),
            "labels": resource_labels(task.labels, view.labels),
            "steps": steps(view.flow, links),
            "links": {
                "self": links.to("getTask", id=task.id),
                "assets": links.to("listTaskAssets", id=task.id),
                "attachments": links.to("listTaskAttachments", id=task.id),
                "brief": links.to("getTaskBrief", id=task.id) if view.has_brief else None,
                "campaign": _campaign(links, task),
                "custom_fields": links.to("listTaskCustomFields", id=task.id),
                "milestone": links.to("getMilestone", id=task.milestone_id)
                if task.milestone_id
                else None,
                "web_urls": {
                    "self": web_url(links, "tasks", task.id),
                    "brief": web_url(links, "tasks", task.id, "brief"),
                },
            },
        }
    )


def task_list_item(task: Any, links: Links, now: datetime) -> dict[str, Any]:
    """A listTasks ``TaskListResponseItem`` as plain data (``page_response`` checks it), from
    a ``service.LIST_COLUMNS`` row or a Task."""
    task_id, campaign_id = task.id, task.campaign_id
    workflow_id, milestone_id = task.workflow_id, task.milestone_id
    return {
        "id": task_id,
        "title": task.title,
        "start_at": timestamp(task.start_at) if task.start_at else None,
        "due_at": timestamp(task.due_at) if task.due_at else None,
        "modified_at": timestamp(task.modified_at),
        "reference_id": str(task.number),
        "campaign_id": campaign_id,
        "workflow_id": workflow_id,
        "milestone_id": milestone_id,
        "is_completed": task.is_completed,
        "is_archived": task.is_archived,
        "status": engine.status(task, now),
        "links": {
            "self": links.to("getTask", id=task_id),
            "campaign": links.to("getCampaign", id=campaign_id) if campaign_id else None,
            "workflow": links.to("getWorkflow", workflow_id=workflow_id) if workflow_id else None,
            "milestone": links.to("getMilestone", id=milestone_id) if milestone_id else None,
            "web_urls": {"self": web_url(links, "tasks", task_id)},
        },
    }


def external_work(ss: TaskSubStep, system: str, links: Links) -> TaskExternalWorkResponse:
    """get/updateTaskSubStepExternalWork."""
    return TaskExternalWorkResponse.model_validate(
        {
            "identifier": ss.ext_identifier,
            "title": ss.ext_title,
            "status": ss.ext_status,
            "url": ss.ext_url,
            "external_system": system,
            "links": {"self": sub_step_url(links, ss, "getTaskSubStepExternalWork")},
        }
    )
