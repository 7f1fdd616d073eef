"""Field values on tasks: listTaskFields, addFieldToTask, updateTaskField, removeTaskField
and listTaskSubStepFields.

A task holds values of the organization's field definitions (the Fields tag), stored and
validated by ``fields.values`` with ``owner_type="task"``, as library assets do. Unlike an
asset, a task's set of fields is explicit: a field is added (``addFieldToTask``), then
updated or removed; updating or removing a field the task does not hold is 404. The older
custom-fields API (``field_custom``) shows the same values.

Every change records its webhook events (``metadata_events.record_fields_modified``) and
touches the task's ``modified_at`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.values import FieldValues, UploadCheck
from cmpapi.server.resources.tasks.metadata_events import record_fields_modified
from cmpapi.server.resources.tasks.service import load_flow, load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.storage.inspect import require_upload_key

OWNER = "task"
# The field types listTaskSubStepFields can answer with (its response's oneOf).
SUB_STEP_TYPES = frozenset(("label", "dropdown", "radio_button", "checkbox"))
NOT_ON_TASK = "The field is not on the task"
T = TypeVar("T")


def writable_task(session: Session, principal: Principal, task_id: str) -> Task:
    """The task, if the caller may write tasks (403) and it is not archived (422):
    archived tasks are read-only, as ``updateTask`` has it."""
    task = load_task(session, principal, task_id, "write")
    if task.is_archived:
        raise Invalid("The task is archived", {"task_id": "Archived tasks cannot change"})
    return task


def known_upload(session: Session, org_id: str) -> UploadCheck:
    """``key -> bool``: image and video values must name an upload of the organization."""

    def check(key: str) -> bool:
        try:
            require_upload_key(session, org_id, key)
        except Invalid:
            return False
        return True

    return check


def page_of(items: Sequence[T], offset: int, page_size: int) -> Page[T]:
    """A page of an in-memory list (a task holds few fields; filtering them by type in SQL
    would need the fields module's internals)."""
    return Page(items[offset : offset + page_size], offset, page_size,
                len(items) > offset + page_size)  # fmt: skip


def task_fields(session: Session, task: Task) -> list[FieldValues]:
    """Every field the task holds (active definitions), in the order they were added."""
    return values.owner_field_values(session, task.org_id, OWNER, task.id)


def field_on_task(session: Session, task: Task, field_id: str) -> FieldValues:
    """The task's values of one field; 404 if it does not hold the (active) field."""
    for fv in task_fields(session, task):
        if fv.field.id == field_id:
            return fv
    raise NotFound(NOT_ON_TASK)


def commit_change(
    session: Session, links: Links, task: Task, fv: FieldValues, before: list[Any] | None
) -> None:
    """Store ``fv`` on the task and commit; events and ``modified_at`` only when the values
    changed (``before`` is ``None`` for a newly added field)."""
    values.set_field_value(session, task.org_id, OWNER, task.id, fv)
    if before is None or before != fv.values:
        task.modified_at = utcnow()
        record_fields_modified(session, links, task, [fv.field])
    session.commit()


def list_task_fields(
    session: Session, principal: Principal, task_id: str, offset: int, page_size: int
) -> Page[FieldValues]:
    """The task's fields with their values."""
    task = load_task(session, principal, task_id, "read")
    return values.list_field_values(session, task.org_id, OWNER, task.id, offset, page_size)


def add_field_to_task(
    session: Session, principal: Principal, links: Links, task_id: str, payload: Any
) -> FieldValues:
    """Add one of the organization's fields, with its values, to the task (422 naming
    ``id`` if the field is unknown, inactive or already on the task)."""
    task = writable_task(session, principal, task_id)
    payload = getattr(payload, "root", payload)
    if any(fv.field.id == payload.id for fv in task_fields(session, task)):
        raise Invalid("The field is already on the task",
                      {"id": "Already on the task: use updateTaskField"})  # fmt: skip
    (checked,) = values.validate_field_values(
        session, task.org_id, [values.input_from_payload(payload.id, payload)],
        known_upload=known_upload(session, task.org_id),
    )  # fmt: skip
    commit_change(session, links, task, checked, None)
    return checked


def update_task_field(
    session: Session, principal: Principal, links: Links, task_id: str, field_id: str,
    payload: Any,
) -> FieldValues:  # fmt: skip
    """Replace the values of a field the task holds."""
    task = writable_task(session, principal, task_id)
    before = field_on_task(session, task, field_id).values
    checked = values.validate_field_value(
        session, task.org_id, field_id, payload, known_upload=known_upload(session, task.org_id)
    )
    commit_change(session, links, task, checked, before)
    return checked


def remove_task_field(
    session: Session, principal: Principal, links: Links, task_id: str, field_id: str
) -> None:
    """Take a field (and its values) off the task."""
    task = writable_task(session, principal, task_id)
    held = task_fields(session, task)
    gone = [fv for fv in held if fv.field.id == field_id]
    if not gone:
        raise NotFound(NOT_ON_TASK)
    kept = [fv for fv in held if fv.field.id != field_id]
    values.replace_field_values(session, task.org_id, OWNER, task.id, kept)
    task.modified_at = utcnow()
    record_fields_modified(session, links, task, [gone[0].field])
    session.commit()


def list_task_sub_step_fields(
    session: Session, principal: Principal, task_id: str, step_id: str, sub_step_id: str,
    offset: int, page_size: int,
) -> Page[FieldValues]:  # fmt: skip
    """The fields a sub-step's assignee works with: the task's choice fields (label,
    dropdown, radio button, checkbox), the only types the spec's answer allows. Workflows
    in cmpapi attach no fields to single sub-steps, so every sub-step of a task lists the
    same ones (docs/compat.md)."""
    task = load_task(session, principal, task_id, "read")
    load_flow(session, task).sub_step(step_id, sub_step_id)  # 404 for unknown ids
    held = [fv for fv in task_fields(session, task) if fv.field.type in SUB_STEP_TYPES]
    return page_of(held, offset, page_size)
