"""Settings ``custom_fields`` <-> the organization's field definitions (Fields tag).

The Settings kinds name the older custom-field types; each maps to one field type (label
fields are exported under ``labels``' sibling API, not here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.resources.fields import service as fields
from cmpapi.server.resources.fields.tables import Field, FieldChoice
from cmpapi.wire import SettingsFieldCreateRequest

# Settings kind -> (field type, is_multi_select, options the kind carries)
KIND_TYPES: dict[str, tuple[str, bool | None, tuple[str, ...]]] = {
    "currency": (
        "currency_number",
        None,
        ("decimal_places", "currency_code", "has_thousand_separator"),
    ),
    "number": ("simple_number", None, ("decimal_places", "has_thousand_separator")),
    "percentage": ("percentage_number", None, ("decimal_places",)),
    "checkbox": ("checkbox", None, ()),
    "dropdown": ("dropdown", False, ()),
    "multi_select_dropdown": ("dropdown", True, ()),
    "multichoice": ("radio_button", None, ()),
    "date": ("date", None, ()),
    "image": ("image", None, ()),
    "richtext": ("rich_text", None, ()),
    "string": ("text", None, ()),
    "textarea": ("text_area", None, ()),
    "video": ("video", None, ()),
}
_CHOICE_TYPES = {"checkbox", "dropdown", "radio_button"}


def _kind_of(field: Field) -> str | None:
    for kind, (type_, multi, _) in KIND_TYPES.items():
        if type_ == field.type and (multi is None or bool(field.is_multi_select) == multi):
            return kind
    return None


def export(session: Session, org_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every non-label field of the organization, grouped by Settings kind."""
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KIND_TYPES}
    rows = session.scalars(select(Field).where(Field.org_id == org_id).order_by(Field.name))
    for field in rows:
        kind = _kind_of(field)
        if kind is None:
            continue
        item: dict[str, Any] = {"label": field.name}
        for option in KIND_TYPES[kind][2]:
            item[option] = getattr(field, option)
        if field.type in _CHOICE_TYPES:
            item["choices"] = [c.name for c in field.choices]
        out[kind].append(item)
    return out


def items(custom_fields: Any) -> Iterator[tuple[str, Any]]:
    """``(kind, item)`` for every item of a ``SettingsCustomField``."""
    for kind in KIND_TYPES:
        for item in getattr(custom_fields, kind, None) or []:
            yield kind, item


def import_one(session: Session, org_id: str, kind: str, item: Any, execute: bool) -> str:
    """Create the field, or update the one of the same name (options set, choices merged).
    Returns ``"create"`` or ``"update"``."""
    type_, multi, options = KIND_TYPES[kind]
    values = {o: getattr(item, o) for o in options}
    choices = list(getattr(item, "choices", None) or [])
    name = item.label.strip()
    existing = Repository(Field, session, org_id).find(func.lower(Field.name) == name.lower())
    if existing is not None and existing.type != type_:
        raise Invalid(
            f"A field named {name!r} exists with type {existing.type}",
            {f"custom_fields.{kind}": f"{name}: type {existing.type}"},
        )
    if not execute:
        return "create" if existing is None else "update"
    if existing is None:
        _create(session, org_id, name, type_, multi, values, choices, kind)
        return "create"
    for option, value in values.items():
        setattr(existing, option, value)
    known = {c.name.casefold() for c in existing.choices}
    for choice in choices:
        if choice.casefold() not in known:
            known.add(choice.casefold())
            existing.choices.append(
                FieldChoice(org_id=org_id, name=choice, position=len(existing.choices))
            )
    session.flush()
    return "update"


def _create(
    session: Session,
    org_id: str,
    name: str,
    type_: str,
    multi: bool | None,
    values: dict[str, Any],
    choices: list[str],
    kind: str,
) -> None:
    body: dict[str, Any] = {"name": name, "type": type_, "is_active": True, **values}
    if multi is not None:
        body["is_multi_select"] = multi
    if type_ in _CHOICE_TYPES:
        body["choices"] = [{"name": c} for c in choices]
    body = {k: v for k, v in body.items() if v is not None}
    try:
        payload = SettingsFieldCreateRequest.model_validate(body).root
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise Invalid(
            f"Invalid custom field {name!r}: {problem}",
            {f"custom_fields.{kind}": f"{name}: {problem}"},
        ) from None
    fields.add_field(session, org_id, payload)
