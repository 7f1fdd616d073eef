"""Field values held by other objects: assets now, tasks, campaigns and events later.

This module is the Fields group's API for other resources. An object is identified by
``owner_type`` (``"asset"``, ``"task"``, ...) and ``owner_id``; its values live in
``field_values``, one row per field.

Writing (the owner's service checks its own permissions first)::

    inputs = values.inputs_from_items(body.root)            # updateAssetFields body
    checked = values.validate_field_values(session, org_id, inputs)   # Invalid: "0.values"
    values.replace_field_values(session, org_id, "asset", asset_id, checked)

    checked = values.validate_field_value(                  # updateAssetField body
        session, org_id, field_id, body, types=values.ASSET_FIELD_TYPES
    )
    values.set_field_value(session, org_id, "asset", asset_id, checked)

Reading: ``list_field_values`` / ``owner_field_values`` give ``FieldValues`` (definition
and stored values); ``render_item(AssetFieldListResponseItem, fv)`` renders one for the
wire (any ``*FieldListResponseItem`` union works), ``asset_field_update_response`` renders
``updateAssetField``'s answer.

Inactive fields are invisible to owners: they are neither listed nor writable, and
replacing an owner's fields keeps their stored values for when they are reactivated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, contains_eager

from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.fields import mapping
from cmpapi.server.resources.fields.kinds import FIELD_TYPES, KINDS
from cmpapi.server.resources.fields.tables import Field, FieldValue
from cmpapi.wire import AssetFieldTypes, AssetFieldUpdateResponse

RootT = TypeVar("RootT", bound=RootModel[Any])
UploadCheck = Callable[[str], bool]
FileUrl = Callable[[str], str]

# AssetFieldUpdateResponse.type is the AssetFieldTypes enum, which lacks image and video
# (though every request and list discriminator has them): updateAssetField refuses those.
ASSET_FIELD_TYPES: frozenset[str] = frozenset(t.value for t in AssetFieldTypes)
# Numbers stay below this magnitude, so 10 decimal places fit Decimal's 28 digits.
MAX_NUMBER = 1e15


@dataclass(frozen=True, slots=True)
class ValueInput:
    """One incoming value: field id, the payload's ``type`` and raw ``values``; ``where``
    prefixes error keys (``"0."`` for list items, ``""`` for a single payload)."""

    field_id: str
    type: str
    values: Sequence[Any]
    where: str = ""


@dataclass(frozen=True, slots=True)
class FieldValues:
    """A field definition with the normalised values an owner holds (or will hold)."""

    field: Field
    values: list[Any]


class _Bad(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def inputs_from_items(items: Iterable[Any]) -> list[ValueInput]:
    """Inputs from a list of ``{id, type, values}`` items (``AssetFieldsUpdateRequest.root``;
    items may still be wrapped in their ``RootModel``)."""
    roots = (getattr(item, "root", item) for item in items)
    return [ValueInput(i.id, i.type, list(i.values), f"{n}.") for n, i in enumerate(roots)]


def input_from_payload(field_id: str, payload: Any) -> ValueInput:
    """The input of one ``{type, values}`` payload whose field id is in the path."""
    payload = getattr(payload, "root", payload)
    return ValueInput(field_id, payload.type, list(payload.values))


# -- validation (pure) -------------------------------------------------------------------


def normalise_values(
    fields: Mapping[str, Field],
    inputs: Sequence[ValueInput],
    *,
    types: Collection[str] = FIELD_TYPES,
    known_upload: UploadCheck | None = None,
) -> list[FieldValues]:
    """Check ``inputs`` against the definitions in ``fields`` (by id) and normalise them.

    Raises ``Invalid`` whose ``errors`` name every offending item: ``"0.id"`` (unknown,
    inactive or repeated field), ``"0.type"`` (not the field's type, or not in ``types``),
    ``"0.values"`` (too many values, wrong shape, unknown choice or upload key).
    """
    errors: dict[str, str] = {}
    out: list[FieldValues] = []
    seen: set[str] = set()
    for item in inputs:
        try:
            field = _definition(fields, item, types, seen)
            out.append(FieldValues(field, _normalise(field, item.values, known_upload)))
        except _Bad as bad:
            errors[item.where + bad.key] = bad.message
    if errors:
        raise Invalid("Invalid field values", errors)
    return out


def _definition(
    fields: Mapping[str, Field], item: ValueInput, types: Collection[str], seen: set[str]
) -> Field:
    field = fields.get(item.field_id)
    if field is None or not field.is_active:
        raise _Bad("id", "Unknown field" if field is None else "The field is inactive")
    if item.field_id in seen:
        raise _Bad("id", "Field given more than once")
    seen.add(item.field_id)
    if item.type != field.type:
        raise _Bad("type", f"The field is of type {field.type}")
    if field.type not in types:
        raise _Bad("type", f"{field.type} fields cannot be set here")
    return field


def _normalise(field: Field, raw: Sequence[Any], known_upload: UploadCheck | None) -> list[Any]:
    kind = KINDS[field.type]
    limit = kind.value_limit(field.is_multi_select)
    if limit is not None and len(raw) > limit:
        raise _Bad("values", f"At most {limit} value{'s' if limit > 1 else ''} allowed")
    normaliser = _NORMALISERS[kind.values]
    out: list[Any] = []
    for n, value in enumerate(raw):
        try:
            stored = normaliser(field, value, known_upload)
        except ValueError as exc:
            raise _Bad("values", f"Value {n}: {exc}") from None
        if stored not in out:
            out.append(stored)
    return out


def _text(field: Field, value: Any, _: UploadCheck | None) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _choice(field: Field, value: Any, _: UploadCheck | None) -> str:
    if not isinstance(value, str) or all(c.id != value for c in field.choices):
        raise ValueError(f"{value!r} is not a choice id of this field")
    return value


def _number(field: Field, value: Any, _: UploadCheck | None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    if not math.isfinite(value) or abs(value) >= MAX_NUMBER:
        raise ValueError(f"expected a number between -{MAX_NUMBER:g} and {MAX_NUMBER:g}")
    # Stored as an exact decimal string: floats would drift through JSON columns.
    return format(Decimal(str(value)).normalize(), "f")


def _date(field: Field, value: Any, _: UploadCheck | None) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("expected a date-time with a timezone (2020-02-10T10:40:45Z)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _file(field: Field, value: Any, known_upload: UploadCheck | None) -> dict[str, str]:
    data = value.model_dump() if isinstance(value, BaseModel) else value
    key = data.get("key") if isinstance(data, Mapping) else None
    title = data.get("title") if isinstance(data, Mapping) else None
    if not (isinstance(key, str) and key and isinstance(title, str) and title):
        raise ValueError("expected {key, title} of an upload")
    if known_upload is not None and not known_upload(key):
        raise ValueError(f"unknown upload key {key!r}")
    return {"key": key, "title": title}


_NORMALISERS: dict[str, Callable[[Field, Any, UploadCheck | None], Any]] = {
    "text": _text,
    "choice": _choice,
    "number": _number,
    "date": _date,
    "file": _file,
}


# -- rendering (pure) --------------------------------------------------------------------


def value_strings(fv: FieldValues, file_url: FileUrl | None = None) -> list[str]:
    """Stored values as the spec's ``values: [string]``: choice ids, texts, UTC timestamps,
    numbers with the field's decimal places, file URLs (``file_url(key)``, else the key)."""
    kind = KINDS[fv.field.type].values
    if kind == "choice":
        ids = {c.id for c in fv.field.choices}
        return [v for v in fv.values if v in ids]
    if kind == "number":
        places = fv.field.decimal_places
        exp = Decimal(1).scaleb(-places) if places is not None else None
        return [_decimal_text(Decimal(v), exp) for v in fv.values]
    if kind == "file":
        return [file_url(v["key"]) if file_url else v["key"] for v in fv.values]
    return [str(v) for v in fv.values]


def _decimal_text(value: Decimal, exp: Decimal | None) -> str:
    return format(value.quantize(exp, rounding=ROUND_HALF_UP) if exp else value, "f")


def render_item(model: type[RootT], fv: FieldValues, *, file_url: FileUrl | None = None) -> RootT:
    """One field of an owner as ``model`` (``AssetFieldListResponseItem``, ...)."""
    return mapping.typed(
        model, {**mapping.field_data(fv.field), "values": value_strings(fv, file_url)}
    )


def asset_field_update_response(
    fv: FieldValues, *, asset_url: str, asset_fields_url: str, file_url: FileUrl | None = None
) -> AssetFieldUpdateResponse:
    """``updateAssetField``'s answer (validate with ``types=ASSET_FIELD_TYPES`` first)."""
    return AssetFieldUpdateResponse.model_validate(
        {
            "id": fv.field.id,
            "name": fv.field.name,
            "type": fv.field.type,
            "values": value_strings(fv, file_url),
            "links": {"asset": asset_url, "asset_fields": asset_fields_url},
        }
    )


# -- persistence -------------------------------------------------------------------------


def load_fields(session: Session, org_id: str, ids: Iterable[str]) -> dict[str, Field]:
    """The organization's field definitions with these ids (unknown ids left out)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = Repository(Field, session, org_id).list(Field.id.in_(wanted), page_size=len(wanted))
    return {f.id: f for f in rows.items}


def validate_field_values(
    session: Session,
    org_id: str,
    inputs: Sequence[ValueInput],
    *,
    types: Collection[str] = FIELD_TYPES,
    known_upload: UploadCheck | None = None,
) -> list[FieldValues]:
    """``normalise_values`` against the organization's definitions of the given ids."""
    fields = load_fields(session, org_id, (i.field_id for i in inputs))
    return normalise_values(fields, inputs, types=types, known_upload=known_upload)


def validate_field_value(
    session: Session,
    org_id: str,
    field_id: str,
    payload: Any,
    *,
    types: Collection[str] = FIELD_TYPES,
    known_upload: UploadCheck | None = None,
) -> FieldValues:
    """One ``{type, values}`` payload for the field named in the path (updateAssetField):
    ``NotFound`` for an unknown or inactive field, else as ``validate_field_values``."""
    field = load_fields(session, org_id, [field_id]).get(field_id)
    if field is None or not field.is_active:
        raise NotFound()
    inputs = [input_from_payload(field_id, payload)]
    (checked,) = normalise_values({field_id: field}, inputs, types=types, known_upload=known_upload)
    return checked


def _owned(org_id: str, owner_type: str, owner_id: str) -> tuple[Any, ...]:
    return (
        FieldValue.org_id == org_id,
        FieldValue.owner_type == owner_type,
        FieldValue.owner_id == owner_id,
    )


def _active_rows(org_id: str, owner_type: str, owner_id: str) -> Select[FieldValue]:
    return (
        select(FieldValue)
        .join(Field, Field.id == FieldValue.field_id)
        .options(contains_eager(FieldValue.field))
        .where(Field.is_active.is_(True), *_owned(org_id, owner_type, owner_id))
        .order_by(FieldValue.position, FieldValue.field_id)
    )


def list_field_values(
    session: Session,
    org_id: str,
    owner_type: str,
    owner_id: str,
    offset: int = 0,
    page_size: int = 10,
) -> Page[FieldValues]:
    """A page of the owner's fields (active ones), in the order they were given."""
    stmt = _active_rows(org_id, owner_type, owner_id).offset(offset).limit(page_size + 1)
    rows = session.scalars(stmt).all()
    items = [FieldValues(r.field, list(r.value)) for r in rows[:page_size]]
    return Page(items, offset, page_size, len(rows) > page_size)


def owner_field_values(
    session: Session, org_id: str, owner_type: str, owner_id: str
) -> list[FieldValues]:
    """All of the owner's (active) fields, in order: ``updateAssetFields``' answer."""
    rows = session.scalars(_active_rows(org_id, owner_type, owner_id)).all()
    return [FieldValues(r.field, list(r.value)) for r in rows]


def replace_field_values(
    session: Session,
    org_id: str,
    owner_type: str,
    owner_id: str,
    checked: Sequence[FieldValues],
) -> None:
    """PUT semantics: the owner's active fields become exactly ``checked``, in its order."""
    owner = (org_id, owner_type, owner_id)
    current = {r.field_id: r for r in _rows(session, *owner)}
    wanted = {fv.field.id for fv in checked}
    for field_id, row in current.items():
        if field_id not in wanted and row.field.is_active:
            session.delete(row)
    for position, fv in enumerate(checked):
        _put(session, owner, fv, current.get(fv.field.id), position)
    session.flush()


def set_field_value(
    session: Session, org_id: str, owner_type: str, owner_id: str, fv: FieldValues
) -> None:
    """Set one field's values on the owner (added after its other fields if new)."""
    owner = (org_id, owner_type, owner_id)
    rows = _rows(session, *owner)
    row = next((r for r in rows if r.field_id == fv.field.id), None)
    last = max((r.position for r in rows), default=-1)
    _put(session, owner, fv, row, last + 1 if row is None else row.position)
    session.flush()


def delete_field_values(session: Session, org_id: str, owner_type: str, owner_id: str) -> None:
    """Forget every value of the owner (call when the owner is deleted)."""
    for row in _rows(session, org_id, owner_type, owner_id):
        session.delete(row)
    session.flush()


def remove_choice(session: Session, org_id: str, field_id: str, choice_id: str) -> None:
    """Drop a deleted choice from every stored value of its field."""
    stmt = select(FieldValue).where(FieldValue.org_id == org_id, FieldValue.field_id == field_id)
    for row in session.scalars(stmt):
        if choice_id in row.value:
            row.value = [v for v in row.value if v != choice_id]
    session.flush()


def _rows(session: Session, org_id: str, owner_type: str, owner_id: str) -> list[FieldValue]:
    return list(session.scalars(select(FieldValue).where(*_owned(org_id, owner_type, owner_id))))


def _put(
    session: Session,
    owner: tuple[str, str, str],
    fv: FieldValues,
    row: FieldValue | None,
    position: int,
) -> None:
    if row is None:
        org_id, owner_type, owner_id = owner
        row = FieldValue(
            org_id=org_id, owner_type=owner_type, owner_id=owner_id, field_id=fv.field.id
        )
        session.add(row)
    row.value, row.position, row.modified_at = list(fv.values), position, utcnow()
