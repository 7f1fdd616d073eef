"""Webhook payloads of task and external-work events (shared/reference/cmp-webhooks.md
§2.2 and §2.6), built in one place for every task module."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.tasks.engine import Transition
from cmpapi.server.resources.tasks.tables import Task, TaskSubStep

# workflow_sub_step_updated status -> the external-work event of an external sub-step.
_EXTERNAL = {
    "started": "external_sub_step_started",
    "completed": "external_sub_step_completed",
    "modified": "external_sub_step_modified",
}


# task_ref's extra link names -> the operation each points at.
_TASK_SUB = {
    "assets": "listTaskAssets",
    "brief": "getTaskBrief",
    "custom_fields": "listTaskCustomFields",
}


def task_ref(links: Links, task_id: str, *extra: str) -> dict[str, Any]:
    """``{"id", "links": {"self", <extra>...}}``; extra names: ``assets``, ``brief``,
    ``custom_fields`` (the sub-resources of the task)."""
    refs = {"self": links.to("getTask", id=task_id)}
    for name in extra:
        refs[name] = links.to(_TASK_SUB[name], id=task_id)
    return {"id": task_id, "links": refs}


def sub_step_url(links: Links, ss: TaskSubStep, operation: str = "getTaskSubStep") -> str:
    """The URL of the sub-step (or of ``operation`` on one of its sub-resources:
    ``getTaskSubStepExternalWork``, ``listTaskSubStepComments``)."""
    return links.to(operation, task_id=ss.task_id, step_id=ss.step_id, sub_step_id=ss.id)


def sub_step_comment_url(links: Links, ss: TaskSubStep, comment_id: str) -> str:
    """The URL of a comment on the sub-step."""
    return links.to(
        "getTaskSubStepComment",
        task_id=ss.task_id,
        step_id=ss.step_id,
        sub_step_id=ss.id,
        comment_id=comment_id,
    )


def record_task_event(session: Session, links: Links, name: str, task: Task) -> None:
    """task_added, task_metadata_modified (``{"task": TASK_S}``) or task_removed."""
    data = {"id": task.id} if name == "task_removed" else task_ref(links, task.id)
    record_event(session, name, {"task": data}, org_id=task.org_id)


def record_transitions(
    session: Session, links: Links, transitions: Iterable[Transition], external_system: str
) -> None:
    """workflow_sub_step_updated for each transition, and the external_sub_step_* event
    for transitions of external sub-steps, in the order they happened."""
    for t in transitions:
        ss = t.sub_step
        data = {
            "status": t.status,
            "task": task_ref(links, ss.task_id),
            "step": {"id": ss.step_id},
            "sub_step": {"id": ss.id, "links": {"self": sub_step_url(links, ss)}},
        }
        record_event(session, "workflow_sub_step_updated", data, org_id=ss.org_id)
        if ss.is_external and t.status in _EXTERNAL:
            system = ss.external_system or external_system
            record_event(
                session, _EXTERNAL[t.status], external_payload(links, ss, system), org_id=ss.org_id
            )


def external_payload(links: Links, ss: TaskSubStep, system: str) -> dict[str, Any]:
    """The data of external_sub_step_started/_completed/_modified."""
    task_url = links.to("getTask", id=ss.task_id)
    work = sub_step_url(links, ss, "getTaskSubStepExternalWork")
    return {
        "task": task_ref(links, ss.task_id, "assets"),
        "step": {"id": ss.step_id, "links": {"task": task_url}},
        "sub_step": {
            "id": ss.id,
            "links": {"self": sub_step_url(links, ss), "task": task_url, "external_work": work},
        },
        "external_work": {
            "external_system": system,
            "links": {"self": work, "task": task_url, "sub_step": sub_step_url(links, ss)},
        },
    }


def _comment_payload(
    links: Links, ss: TaskSubStep, comment_id: str, *, external: bool, removed: bool
) -> dict[str, Any]:
    comments = sub_step_url(links, ss, "listTaskSubStepComments")
    task_url = links.to("getTask", id=ss.task_id)
    comment: dict[str, Any] = {"id": comment_id}
    url = sub_step_comment_url(links, ss, comment_id)
    if not external:
        if not removed:
            comment["links"] = {"self": url}
        sub_links = {"self": sub_step_url(links, ss), "comments": comments}
        return {
            "task": task_ref(links, ss.task_id),
            "step": {"id": ss.step_id},
            "sub_step": {"id": ss.id, "links": sub_links},
            "comment": comment,
        }
    comment["links"] = {"task": task_url, "sub_step": sub_step_url(links, ss)}
    if not removed:
        comment["links"] = {"self": url, **comment["links"]}
    sub_links = {"self": sub_step_url(links, ss), "task": task_url, "comments": comments}
    return {
        "task": task_ref(links, ss.task_id, "assets"),
        "step": {"id": ss.step_id, "links": {"task": task_url}},
        "sub_step": {"id": ss.id, "links": sub_links},
        "comment": comment,
    }


def record_comment_event(
    session: Session, links: Links, ss: TaskSubStep, comment_id: str, action: str
) -> None:
    """workflow_sub_step_comment_``action`` (added, modified, removed) for a top-level
    comment on a sub-step, plus external_sub_step_comment_``action`` on external ones."""
    removed = action == "removed"
    data = _comment_payload(links, ss, comment_id, external=False, removed=removed)
    record_event(session, f"workflow_sub_step_comment_{action}", data, org_id=ss.org_id)
    if ss.is_external:
        data = _comment_payload(links, ss, comment_id, external=True, removed=removed)
        record_event(session, f"external_sub_step_comment_{action}", data, org_id=ss.org_id)
