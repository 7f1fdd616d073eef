"""Workflow rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.workflows.tables import Workflow
from cmpapi.wire import (
    WorkflowResponse,
    WorkflowResponseStep,
    WorkflowResponseStepSubStep,
    WorkflowResponseStepSubStepAction,
    WorkflowResponseStepSubStepAssignee,
    WorkflowResponseStepSubStepAssigneeLinks,
)

# assignee type -> the operation serving it
_ASSIGNEES = {"user": "getUser", "team": "getTeam"}


def workflow_list_item(w: Any) -> dict[str, Any]:
    """listWorkflows: a ``WorkflowListResponseItem`` as plain data (``page_response`` checks
    it), from a ``service.LIST_COLUMNS`` row or a Workflow."""
    return {"id": w.id, "name": w.name, "description": w.description, "is_flexible": w.is_flexible}


def _assignee(a: dict[str, str], names: dict[str, str], links: Links) -> Any:
    return WorkflowResponseStepSubStepAssignee(
        id=a["id"],
        name=names.get(a["id"], ""),
        type=a["type"],
        links=WorkflowResponseStepSubStepAssigneeLinks(
            self=links.to(_ASSIGNEES[a["type"]], id=a["id"])
        ),
    )


def _sub_step(ss: dict[str, Any], names: dict[str, str], links: Links) -> Any:
    return WorkflowResponseStepSubStep(
        id=ss["id"],
        name=ss["name"],
        type="external" if ss["is_external"] else "default",
        actions=[WorkflowResponseStepSubStepAction(name=a) for a in ss["actions"]],
        assignees=[_assignee(a, names, links) for a in ss["assignees"] if a["id"] in names],
    )


def workflow_response(w: Workflow, names: dict[str, str], links: Links) -> WorkflowResponse:
    """getWorkflow; ``names`` from ``service.assignee_names`` (deleted assignees left out)."""
    return WorkflowResponse(
        id=w.id,
        name=w.name,
        description=w.description,
        is_active=w.is_active,
        is_flexible=w.is_flexible,
        is_smart_duration_enabled=w.is_smart_duration_enabled,
        is_asset_approval_enabled=w.is_asset_approval_enabled,
        is_resource_management_enabled=w.is_resource_management_enabled,
        fields=[],
        steps=[
            WorkflowResponseStep(
                id=s["id"],
                name=s["name"],
                sub_steps=[_sub_step(ss, names, links) for ss in s["sub_steps"]],
            )
            for s in w.steps
        ],
    )
