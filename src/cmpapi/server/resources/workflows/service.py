"""Workflows: read (listWorkflows, getWorkflow) and defined by import.

The API has no create: workflows come from the Settings import (``import_workflows``, also
behind ``cmpapi workflows import``) and the demo seed (``create_workflow``). Tasks copy a
workflow's steps when they are created (``resources/tasks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.identity.tables import Team, User
from cmpapi.server.resources.workflows.tables import Workflow
from cmpapi.wire import SettingsWorkflow, WorkflowStep, WorkflowSubStep

BY_NAME = (Workflow.name,)
# SettingsWorkflow parts with no behaviour in cmpapi: kept verbatim for the export.
_EXTRA = (
    "labels",
    "custom_fields",
    "default_channels",
    "blacklisted_channels",
    "is_not_pushed_to_library_by_default",
    "is_released_as_asset",
)

# A step lasts ten years at most: step due dates stay within what every backend stores.
MAX_DURATION_DAYS = 3650


LIST_COLUMNS = (Workflow.id, Workflow.name, Workflow.description, Workflow.is_flexible)
_ACTIVE = Workflow.is_active.is_(True)


def list_workflows(
    session: Session, principal: Principal, offset: int, page_size: int
) -> Page[Any]:
    """Active workflows by name (rows of ``LIST_COLUMNS``)."""
    require(principal, "workflows:read")
    repo = Repository(Workflow, session, principal.org_id)
    return repo.rows(LIST_COLUMNS, _ACTIVE, order_by=BY_NAME, offset=offset, page_size=page_size)


def get_workflow(
    session: Session, principal: Principal, workflow_id: str
) -> tuple[Workflow, dict[str, str]]:
    """One workflow of the organization (404 otherwise) and its assignees' names."""
    require(principal, "workflows:read")
    workflow = Repository(Workflow, session, principal.org_id).get(workflow_id)
    return workflow, assignee_names(session, [workflow])


def assignee_names(session: Session, workflows: Iterable[Workflow]) -> dict[str, str]:
    """``user/team id -> display name`` for every assignee of the workflows (two queries)."""
    ids = {
        a["id"]
        for w in workflows
        for s in w.steps
        for ss in s["sub_steps"]
        for a in ss["assignees"]
    }
    names = {u.id: u.full_name for u in session.scalars(select(User).where(User.id.in_(ids)))}
    names.update(
        {r[0]: r[1] for r in session.execute(select(Team.id, Team.name).where(Team.id.in_(ids)))}
    )
    return names


def _sub_step(sub: WorkflowSubStep) -> dict[str, Any]:
    config = sub.external_sub_step_config
    allowed = getattr(config, "is_user_interaction_allowed", False) if config else False
    return {
        "id": new_id(),
        "name": sub.label or "",
        "description": sub.description,
        "actions": list(sub.actions),
        "is_external": bool(sub.is_external),
        "external_system": sub.external_system if sub.is_external else None,
        "is_user_interaction_allowed": bool(allowed) if sub.is_external else True,
        "assignees": [],
    }


def _step(step: WorkflowStep) -> dict[str, Any]:
    return {
        "id": new_id(),
        "name": step.label,
        "description": step.description,
        "duration": step.duration,
        "sub_steps": [_sub_step(s) for s in step.substeps],
    }


def steps_from_settings(steps: Sequence[WorkflowStep], where: str) -> list[dict[str, Any]]:
    """The stored definition of ``WorkflowStep`` items (new ids); ``Invalid`` when a step
    has no name or a duration outside 0 to ``MAX_DURATION_DAYS``."""
    errors: dict[str, str] = {}
    for n, step in enumerate(steps):
        if not step.label.strip():
            errors[f"{where}.{n}.label"] = "A step needs a name"
        if step.duration is not None and not 0 <= step.duration <= MAX_DURATION_DAYS:
            errors[f"{where}.{n}.duration"] = f"Whole days, 0 to {MAX_DURATION_DAYS}"
    if errors:
        raise Invalid("Invalid workflow steps", errors)
    return [_step(s) for s in steps]


def import_workflows(
    session: Session,
    org_id: str,
    items: Sequence[SettingsWorkflow],
    *,
    execute: bool = True,
    overwrite: bool = False,
) -> tuple[list[str], list[str]]:
    """Import Settings ``workflows`` as updateSettings documents it: with ``overwrite`` a
    workflow of the same name (case-insensitive) gets the new definition (existing tasks keep
    theirs); without, a new workflow named ``Copy of <name>`` is created beside it. Returns
    the (created, updated) names; nothing is written unless ``execute``."""
    repo = Repository(Workflow, session, org_id)
    created: list[str] = []
    updated: list[str] = []
    for n, item in enumerate(items):
        name = item.name.strip()
        if not name:
            raise Invalid("Invalid workflow", {f"workflows.{n}.name": "A workflow needs a name"})
        steps = steps_from_settings(item.steps, f"workflows.{n}.steps")
        existing = repo.find(func.lower(Workflow.name) == name.lower())
        if existing is not None and not overwrite:
            name, existing = f"Copy of {name}", None
        (created if existing is None else updated).append(name)
        if not execute:
            continue
        extra = item.model_dump(mode="json", include=set(_EXTRA))
        values = {
            "description": item.description,
            "is_flexible": item.is_flexible_workflow,
            "steps": steps,
            "extra": extra,
        }
        if existing is None:
            repo.add(Workflow(name=name, **values))
        else:
            repo.update(existing, {**values, "modified_at": utcnow()})
    return created, updated


def export_workflows(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's workflows as Settings ``workflows`` items (JSON-ready)."""
    rows = session.scalars(select(Workflow).where(Workflow.org_id == org_id).order_by(*BY_NAME))
    return [_settings_item(w) for w in rows]


def _settings_item(w: Workflow) -> dict[str, Any]:
    extra = {
        "labels": [],
        "custom_fields": [],
        "default_channels": [],
        "blacklisted_channels": [],
        "is_not_pushed_to_library_by_default": False,
        "is_released_as_asset": False,
        **w.extra,
    }
    steps = [
        {
            "label": s["name"],
            "description": s["description"],
            "duration": s["duration"],
            "substeps": [_settings_sub_step(ss) for ss in s["sub_steps"]],
        }
        for s in w.steps
    ]
    return {
        "name": w.name,
        "description": w.description,
        "is_flexible_workflow": w.is_flexible,
        "steps": steps,
        **extra,
    }


def _settings_sub_step(ss: dict[str, Any]) -> dict[str, Any]:
    out = {
        "label": ss["name"],
        "description": ss["description"],
        "actions": ss["actions"],
        "is_external": ss["is_external"],
        "external_system": ss["external_system"],
    }
    if ss["is_external"]:
        out["external_sub_step_config"] = {
            "is_user_interaction_allowed": ss["is_user_interaction_allowed"]
        }
    return out


def _defaults(sub: dict[str, Any]) -> dict[str, Any]:
    external = bool(sub.get("is_external", False))
    return {
        "id": sub.get("id") or new_id(),
        "name": sub["name"],
        "description": sub.get("description"),
        "actions": list(sub.get("actions", [])),
        "is_external": external,
        "external_system": sub.get("external_system") if external else None,
        "is_user_interaction_allowed": sub.get("is_user_interaction_allowed", not external),
        "assignees": list(sub.get("assignees", [])),
    }


def create_workflow(
    session: Session,
    org_id: str,
    name: str,
    steps: Sequence[dict[str, Any]],
    *,
    description: str | None = None,
    id_: str | None = None,
    **flags: bool,
) -> Workflow:
    """Create a workflow from a compact definition (demo seed, tests): steps are
    ``{"name", "duration"?, "description"?, "sub_steps": [{"name", "is_external"?,
    "external_system"?, "is_user_interaction_allowed"?, "assignees"?, "actions"?}]}``."""
    definition = [
        {
            "id": s.get("id") or new_id(),
            "name": s["name"],
            "description": s.get("description"),
            "duration": s.get("duration"),
            "sub_steps": [_defaults(ss) for ss in s["sub_steps"]],
        }
        for s in steps
    ]
    workflow = Workflow(
        id=id_ or new_id(), name=name, description=description, steps=definition, extra={}, **flags
    )
    return Repository(Workflow, session, org_id).add(workflow)
