"""Tasks as a parent of the shared sub-resources (comments, attachments, brief, fields)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.errors import Invalid
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.tasks.events import record_comment_event
from cmpapi.server.resources.tasks.metadata_events import record_brief_event, record_fields_modified
from cmpapi.server.resources.tasks.service import KIND, load_task
from cmpapi.server.resources.tasks.tables import Task, TaskSubStep


def read_task(session: Session, principal: Principal, task_id: str) -> Task:
    """The task, if the caller may read tasks."""
    return load_task(session, principal, task_id, "read")


def writable_task(session: Session, principal: Principal, task_id: str) -> Task:
    """The task, if the caller may write tasks (403) and it is not archived (422):
    archived tasks are read-only, as ``updateTask`` has it."""
    task = load_task(session, principal, task_id, "write")
    if task.is_archived:
        raise Invalid("The task is archived", {"task_id": "Archived tasks cannot change"})
    return task


def _fields_changed(session: Session, links: Links, owner: Owner, fields: Sequence[Field]) -> None:
    record_fields_modified(session, links, cast(Task, owner), fields)


def _brief_changed(session: Session, links: Links, owner: Owner, action: str) -> None:
    record_brief_event(session, links, cast(Task, owner), action)


TASK = Parent(
    kind=KIND,
    get_op="getTask",
    brief_op="getTaskBrief",
    read=read_task,
    write=writable_task,
    update_field="updateTaskField",
    fields_changed=_fields_changed,
    brief_changed=_brief_changed,
)
"""Comments on the task itself fire no event (the CMP has none for them)."""


def sub_step_parent(ss: TaskSubStep) -> Parent:
    """The task as the parent of one sub-step's comments: top-level comments fire
    workflow_sub_step_comment_* (and external_sub_step_comment_* on external sub-steps)."""

    def changed(session: Session, links: Links, _: Owner, comment_id: str, action: str) -> None:
        record_comment_event(session, links, ss, comment_id, action)

    return replace(TASK, comment_changed=changed)
