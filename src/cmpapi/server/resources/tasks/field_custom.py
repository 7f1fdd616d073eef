"""The older custom-fields API on tasks: listTaskCustomFields, getTaskCustomField,
updateTaskCustomField, listTaskCustomFieldChoices.

Custom fields are the same field values as ``listTaskFields`` (``subresources.fields``), seen
through the older API's types: a custom field's id is the field definition's id, and only
fields whose type has a custom-field name are visible here. Label fields (task labels in
that API) and the three number types have none: they are listed by ``listTaskFields``
only, and ``getTaskCustomField`` answers 404 for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.kinds import KINDS
from cmpapi.server.resources.fields.tables import Field, FieldChoice
from cmpapi.server.resources.fields.values import FieldValues, ValueInput
from cmpapi.server.resources.subresources import fields
from cmpapi.server.resources.subresources.fields import page_of
from cmpapi.server.resources.tasks.parent import TASK, writable_task
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task

# Field type -> TaskCustomField.type; dropdowns depend on is_multi_select (custom_type).
_CUSTOM_TYPES = {
    "text": "text_field",
    "text_area": "multi_line_text_field",
    "rich_text": "rich_text_field",
    "checkbox": "checkboxes",
    "radio_button": "multiple_choice",
    "date": "date_field",
    "image": "image",
    "video": "video",
}
# updateTaskCustomField's description lists every custom type but these.
READ_ONLY = frozenset(("image", "video"))
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NOT_CUSTOM = "The task has no custom field with this id"


def custom_type(field: Field) -> str | None:
    """The field's type in the custom-fields API, or ``None`` if it has none there."""
    if field.type == "dropdown":
        return "multi_select_dropdown" if field.is_multi_select else "dropdown"
    return _CUSTOM_TYPES.get(field.type)


def _custom_fields(session: Session, task: Task) -> list[FieldValues]:
    return [fv for fv in fields.held(session, TASK, task) if custom_type(fv.field) is not None]


def _custom_field(session: Session, task: Task, field_id: str) -> FieldValues:
    for fv in _custom_fields(session, task):
        if fv.field.id == field_id:
            return fv
    raise NotFound(NOT_CUSTOM)


def list_task_custom_fields(
    session: Session, principal: Principal, task_id: str, offset: int, page_size: int
) -> Page[FieldValues]:
    """The task's custom fields, in the order they were added."""
    task = load_task(session, principal, task_id, "read")
    return page_of(_custom_fields(session, task), offset, page_size)


def get_task_custom_field(
    session: Session, principal: Principal, task_id: str, field_id: str
) -> FieldValues:
    """One custom field of the task."""
    return _custom_field(session, load_task(session, principal, task_id, "read"), field_id)


def _typed_values(field: Field, raw: Sequence[str]) -> list[str]:
    """The request's strings as the values ``fields.values`` takes: ``date_field`` values
    are ``YYYY-MM-DD`` here and are stored as midnight UTC."""
    if field.type in READ_ONLY:
        raise Invalid(
            f"{field.type} custom fields cannot be updated here",
            {"values": "Set image and video fields with updateTaskField"},
        )
    if field.type != "date":
        return list(raw)
    for n, value in enumerate(raw):
        if not _is_date(value):
            raise Invalid(
                "Invalid field values", {"values": f"Value {n}: expected a date YYYY-MM-DD"}
            )
    return [f"{value}T00:00:00+00:00" for value in raw]


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return _DATE.fullmatch(value) is not None


def update_task_custom_field(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    field_id: str,
    raw: Sequence[str],
) -> FieldValues:
    """Replace a custom field's values: choice ids for fields with choices, otherwise one
    text (or one ``YYYY-MM-DD`` date)."""
    task = writable_task(session, principal, task_id)
    before = _custom_field(session, task, field_id)
    field = before.field
    inputs = [ValueInput(field.id, field.type, _typed_values(field, raw))]
    (checked,) = values.normalise_values({field.id: field}, inputs)
    fields.store(session, links, TASK, task, checked, before.values)
    session.commit()
    return checked


def list_task_custom_field_choices(
    session: Session,
    principal: Principal,
    task_id: str,
    field_id: str,
    offset: int,
    page_size: int,
) -> Page[FieldChoice]:
    """The choices of a custom field of the task, in the field's order (404 for a custom
    field without choices: its ``links.choices`` is ``null``)."""
    task = load_task(session, principal, task_id, "read")
    field = _custom_field(session, task, field_id).field
    if not KINDS[field.type].has_choices:
        raise NotFound("This custom field has no choices")
    return page_of(list(field.choices), offset, page_size)
