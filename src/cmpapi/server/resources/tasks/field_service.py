"""Field values on tasks: listTaskFields, addFieldToTask, updateTaskField, removeTaskField
and listTaskSubStepFields.

A task's fields are the shared field values (``subresources.fields``) of the task parent
(``parent.TASK``): its events are ``task_metadata_modified`` for label fields and
``task_custom_field_modified`` for the others. The older custom-fields API
(``field_custom``) shows the same values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.repository import Page
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.values import FieldValues
from cmpapi.server.resources.subresources import fields
from cmpapi.server.resources.tasks.parent import TASK, read_task, writable_task
from cmpapi.server.resources.tasks.service import load_flow

# The field types listTaskSubStepFields can answer with (its response's oneOf).
SUB_STEP_TYPES = frozenset(("label", "dropdown", "radio_button", "checkbox"))


def list_task_fields(
    session: Session, principal: Principal, task_id: str, offset: int, page_size: int
) -> Page[FieldValues]:
    """The task's fields with their values."""
    return fields.page(session, TASK, read_task(session, principal, task_id), offset, page_size)


def add_field_to_task(
    session: Session, principal: Principal, links: Links, task_id: str, payload: Any
) -> FieldValues:
    """Add one of the organization's fields, with its values, to the task (422 naming
    ``id`` if the field is unknown, inactive or already on the task)."""
    fv = fields.add(session, links, TASK, writable_task(session, principal, task_id), payload)
    session.commit()
    return fv


def update_task_field(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    field_id: str,
    payload: Any,
) -> FieldValues:
    """Replace the values of a field the task holds."""
    task = writable_task(session, principal, task_id)
    fv = fields.update(session, links, TASK, task, field_id, payload)
    session.commit()
    return fv


def remove_task_field(
    session: Session, principal: Principal, links: Links, task_id: str, field_id: str
) -> None:
    """Take a field (and its values) off the task."""
    fields.remove(session, links, TASK, writable_task(session, principal, task_id), field_id)
    session.commit()


def list_task_sub_step_fields(
    session: Session,
    principal: Principal,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    offset: int,
    page_size: int,
) -> Page[FieldValues]:
    """The fields a sub-step's assignee works with: the task's choice fields (label,
    dropdown, radio button, checkbox), the only types the spec's answer allows. Workflows
    in cmpapi attach no fields to single sub-steps, so every sub-step of a task lists the
    same ones (docs/compat.md)."""
    task = read_task(session, principal, task_id)
    load_flow(session, task).sub_step(step_id, sub_step_id)  # 404 for unknown ids
    held = [fv for fv in fields.held(session, TASK, task) if fv.field.type in SUB_STEP_TYPES]
    return fields.page_of(held, offset, page_size)
