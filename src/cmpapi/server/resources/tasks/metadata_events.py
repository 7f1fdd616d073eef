"""Webhook payloads of task field and brief changes (shared/reference/cmp-webhooks.md §2.2).

Task-level shapes come from the core's ``events.task_ref``; this module only adds the
events the core does not record: ``task_custom_field_modified`` and ``task_brief_*``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.tasks.events import record_task_event, task_ref
from cmpapi.server.resources.tasks.tables import Task

LABEL = "label"


def record_fields_modified(
    session: Session, links: Links, task: Task, fields: Sequence[Field]
) -> None:
    """The events of changed field values on a task: ``task_metadata_modified`` once if a
    label-type field changed, ``task_custom_field_modified`` naming every other one."""
    if any(f.type == LABEL for f in fields):
        record_task_event(session, links, "task_metadata_modified", task)
    others = [f for f in fields if f.type != LABEL]
    if not others:
        return
    data = {
        "modified_custom_fields": [
            {
                "id": f.id,
                "links": {
                    "self": links.to("getTaskCustomField", task_id=task.id, custom_field_id=f.id)
                },
            }
            for f in others
        ],
        "task": task_ref(links, task.id, "assets", "custom_fields"),
    }
    record_event(session, "task_custom_field_modified", data, org_id=task.org_id)


def record_brief_event(session: Session, links: Links, task: Task, action: str) -> None:
    """``task_brief_added`` / ``_modified`` (the task with its ``brief`` link) or
    ``task_brief_removed`` (the task's own link only)."""
    extra = () if action == "removed" else ("brief",)
    record_event(
        session,
        f"task_brief_{action}",
        {"task": task_ref(links, task.id, *extra)},
        org_id=task.org_id,
    )
