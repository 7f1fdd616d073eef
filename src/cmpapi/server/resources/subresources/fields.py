"""Field values held by any parent (``Parent``): list, add, update, remove one field, or
replace them all. Values are stored and validated by ``fields.values`` with
``owner_type = Parent.kind``, as library assets do.

A parent's set of fields is explicit: a field is added, then updated or removed; updating
or removing a field the parent does not hold is 404. Every change records the parent's
events (``Parent.fields_changed``) and touches its ``modified_at``. Functions flush and
never commit: the parent's service commits once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.values import FieldValues, UploadCheck
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.storage.inspect import require_upload_key

T = TypeVar("T")


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
    """A page of an in-memory list (a parent holds few fields)."""
    more = len(items) > offset + page_size
    return Page(items[offset : offset + page_size], offset, page_size, more)


def held(session: Session, parent: Parent, owner: Owner) -> list[FieldValues]:
    """Every field the parent holds (active definitions), in the order they were added."""
    return values.owner_field_values(session, owner.org_id, parent.kind, owner.id)


def page(
    session: Session, parent: Parent, owner: Owner, offset: int, page_size: int
) -> Page[FieldValues]:
    """The parent's fields with their values."""
    return values.list_field_values(session, owner.org_id, parent.kind, owner.id, offset, page_size)


def one(session: Session, parent: Parent, owner: Owner, field_id: str) -> FieldValues:
    """The parent's values of one field; 404 if it does not hold the (active) field."""
    for fv in held(session, parent, owner):
        if fv.field.id == field_id:
            return fv
    raise NotFound(f"The field is not on the {parent.kind.replace('_', ' ')}")


def _changed(
    session: Session, links: Links, parent: Parent, owner: Owner, fvs: Sequence[FieldValues]
) -> None:
    owner.modified_at = utcnow()
    session.flush()
    parent.fields_changed(session, links, owner, [fv.field for fv in fvs])


def add(session: Session, links: Links, parent: Parent, owner: Owner, payload: Any) -> FieldValues:
    """Add one of the organization's fields, with its values (422 naming ``id`` if the
    field is unknown, inactive or already held)."""
    payload = getattr(payload, "root", payload)
    if any(fv.field.id == payload.id for fv in held(session, parent, owner)):
        noun = parent.kind.replace("_", " ")
        raise Invalid(
            f"The field is already on the {noun}",
            {"id": f"Already on the {noun}: use {parent.update_field}"},
        )
    (checked,) = values.validate_field_values(
        session,
        owner.org_id,
        [values.input_from_payload(payload.id, payload)],
        known_upload=known_upload(session, owner.org_id),
    )
    store(session, links, parent, owner, checked, None)
    return checked


def update(
    session: Session, links: Links, parent: Parent, owner: Owner, field_id: str, payload: Any
) -> FieldValues:
    """Replace the values of a field the parent holds (events only if they changed)."""
    before = one(session, parent, owner, field_id).values
    checked = values.validate_field_value(
        session, owner.org_id, field_id, payload, known_upload=known_upload(session, owner.org_id)
    )
    store(session, links, parent, owner, checked, before)
    return checked


def store(
    session: Session,
    links: Links,
    parent: Parent,
    owner: Owner,
    checked: FieldValues,
    before: list[Any] | None,
) -> None:
    """Store validated values of one field; events and ``modified_at`` only when the
    values changed (``before`` is ``None`` for a newly added field)."""
    values.set_field_value(session, owner.org_id, parent.kind, owner.id, checked)
    if before is None or before != checked.values:
        _changed(session, links, parent, owner, [checked])


def remove(session: Session, links: Links, parent: Parent, owner: Owner, field_id: str) -> None:
    """Take a field (and its values) off the parent."""
    fvs = held(session, parent, owner)
    gone = [fv for fv in fvs if fv.field.id == field_id]
    if not gone:
        raise NotFound(f"The field is not on the {parent.kind.replace('_', ' ')}")
    kept = [fv for fv in fvs if fv.field.id != field_id]
    values.replace_field_values(session, owner.org_id, parent.kind, owner.id, kept)
    _changed(session, links, parent, owner, gone)


def replace(
    session: Session, links: Links, parent: Parent, owner: Owner, items: Iterable[Any]
) -> list[FieldValues]:
    """Set the parent's fields to exactly ``items`` (each ``{id, type, values}``); events
    name the fields whose values changed, were added or went away."""
    before = {fv.field.id: fv for fv in held(session, parent, owner)}
    checked = values.validate_field_values(
        session,
        owner.org_id,
        values.inputs_from_items(items),
        known_upload=known_upload(session, owner.org_id),
    )
    values.replace_field_values(session, owner.org_id, parent.kind, owner.id, checked)
    after = {fv.field.id: fv for fv in checked}
    changed = [
        fv for fv in checked if fv.field.id not in before or before[fv.field.id].values != fv.values
    ]
    changed += [fv for fid, fv in before.items() if fid not in after]
    if changed:
        _changed(session, links, parent, owner, changed)
    return checked
