"""Fields (tag "Fields"): the organization's field definitions and their choices.

Reading is open to every role; changing definitions is organization configuration
(``fields:write``, admins only). Names are unique per organization and choice names per
field, both case-insensitively (422, naming the offending key). Type-specific behaviour
comes from ``kinds.KINDS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import MISSING
from sqlalchemy import bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository, lookup
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.kinds import (
    CURRENCY_CODES,
    KINDS,
    LABEL_COLORS,
    FieldKind,
)
from cmpapi.server.resources.fields.tables import Field, FieldChoice
from cmpapi.wire import (
    SettingsFieldChoiceCreateRequest,
    SettingsFieldChoiceUpdateRequest,
    SettingsFieldCreateRequest,
    SettingsFieldUpdateRequest,
)

BY_NAME = (Field.name,)
MAX_DECIMAL_PLACES = 10


def _repo(session: Session, principal: Principal, action: str) -> Repository[Field]:
    require(principal, f"fields:{action}")
    return Repository(Field, session, principal.org_id)


# What a page reads, as module-level columns and clauses (``Repository.rows`` and
# ``lookup`` prepare them once; the ``ids`` filter is an expanding parameter).
LIST_COLUMNS = (
    Field.id,
    Field.name,
    Field.type,
    Field.helper_text,
    Field.is_active,
    Field.is_multi_select,
    Field.decimal_places,
    Field.has_thousand_separator,
    Field.currency_code,
)
CHOICE_COLUMNS = (
    FieldChoice.id,
    FieldChoice.field_id,
    FieldChoice.name,
    FieldChoice.color,
    FieldChoice.position,
)
_IN_IDS = Field.id.in_(bindparam("ids", expanding=True))


def list_fields(
    session: Session, principal: Principal, ids: Sequence[str], offset: int, page_size: int
) -> tuple[Page[Any], dict[str, list[Any]]]:
    """The organization's fields by name, only those in ``ids`` when given (rows of
    ``LIST_COLUMNS``), and the choices of those that have them in display order (``field
    id -> rows of CHOICE_COLUMNS``: the relationship an ORM load brings along, read for
    the page at once)."""
    page = _repo(session, principal, "read").rows(
        LIST_COLUMNS,
        *((_IN_IDS,) if ids else ()),
        order_by=BY_NAME,
        offset=offset,
        page_size=page_size,
        params={"ids": list(ids)} if ids else None,
    )
    choices: dict[str, list[Any]] = {f.id: [] for f in page.items if KINDS[f.type].has_choices}
    found = lookup(session, CHOICE_COLUMNS, FieldChoice.field_id, choices)
    for c in sorted(found, key=lambda c: c.position):
        choices[c.field_id].append(c)
    return page, choices


def create_field(session: Session, principal: Principal, body: SettingsFieldCreateRequest) -> Field:
    """Create a field of any type with its options and choices."""
    _repo(session, principal, "write")
    field = add_field(session, principal.org_id, body.root)
    session.commit()
    return field


def add_field(
    session: Session,
    org_id: str,
    payload: Any,
    *,
    id_: str | None = None,
    choice_ids: Sequence[str] = (),
) -> Field:
    """Add a field from a ``SettingsFieldCreateRequest`` branch (flushed, not committed).

    Also the demo seed's entry point: ``id_`` and ``choice_ids`` give deterministic ids.
    """
    repo = Repository(Field, session, org_id)
    kind = KINDS[payload.type]
    name = _unique_name(repo, payload.name)
    options = _checked_options(payload.model_dump(include=set(kind.options)))
    helper = payload.helper_text if payload.helper_text is not MISSING else ""
    field = Field(
        id=id_ or new_id(),
        org_id=org_id,
        name=name,
        type=payload.type,
        helper_text=helper,
        is_active=payload.is_active,
        **options,
    )
    _add_choices(field, kind, getattr(payload, "choices", ()), "choices.", choice_ids)
    with _unique_names():
        return repo.add(field)


def update_field(
    session: Session, principal: Principal, field_id: str, body: SettingsFieldUpdateRequest
) -> None:
    """Change a field's name, helper text, active flag or type-specific options."""
    repo = _repo(session, principal, "write")
    field = repo.get(field_id)
    changes = body.root.model_dump(exclude_unset=True)
    if changes.pop("type") != field.type:
        raise Invalid("The type of a field cannot be changed", {"type": f"Must be {field.type}"})
    if not changes:
        raise Invalid("Nothing to update", {"body": "Give at least one updateable field"})
    if "name" in changes:
        changes["name"] = _unique_name(repo, changes["name"], exclude=field.id)
    with _unique_names():
        repo.update(field, _checked_options(changes))
    session.commit()


def create_field_choices(
    session: Session, principal: Principal, field_id: str, body: SettingsFieldChoiceCreateRequest
) -> Field:
    """Append choices to a choice field; returns the field with all its choices."""
    field = _repo(session, principal, "write").get(field_id)
    kind = _choice_kind(field)
    _add_choices(field, kind, body.root, "", ())
    session.commit()
    return field


def update_field_choice(
    session: Session,
    principal: Principal,
    field_id: str,
    choice_id: str,
    body: SettingsFieldChoiceUpdateRequest,
) -> None:
    """Rename a choice or (label fields) change its color."""
    field, choice = _load_choice(session, principal, field_id, choice_id)
    changes = body.root.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("Nothing to update", {"body": "Give a name or a color"})
    if "name" in changes:
        others = [c for c in field.choices if c.id != choice.id]
        choice.name = _choice_name(changes["name"], others, "name")
    if "color" in changes:
        choice.color = _choice_color(KINDS[field.type], changes["color"], "color")
    session.commit()


def delete_field_choice(
    session: Session, principal: Principal, field_id: str, choice_id: str
) -> None:
    """Delete a choice; values that objects hold lose it too. The last choice stays."""
    field, choice = _load_choice(session, principal, field_id, choice_id)
    if len(field.choices) == 1:
        raise Invalid("A field keeps at least one choice", {"choice_id": "The last choice"})
    field.choices.remove(choice)
    values.remove_choice(session, principal.org_id, field.id, choice.id)
    session.commit()


# -- rules -------------------------------------------------------------------------------


def _unique_name(repo: Repository[Field], name: str, exclude: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise Invalid("Invalid field name", {"name": "Must not be blank"})
    same = func.lower(Field.name) == name.lower()
    clash = repo.find(same, Field.id != exclude) if exclude else repo.find(same)
    if clash is not None:
        raise Invalid("A field with this name already exists", {"name": "Already in use"})
    return name


@contextmanager
def _unique_names() -> Iterator[None]:
    """A concurrent duplicate name (caught by the unique index at flush) is the same 422."""
    try:
        yield
    except IntegrityError as exc:
        raise Invalid("A field with this name already exists", {"name": "Already in use"}) from exc


def _checked_options(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the type-specific options among ``changes`` (others pass through)."""
    out = dict(changes)
    places = out.get("decimal_places")
    if places is not None and not 0 < places <= MAX_DECIMAL_PLACES:
        raise Invalid("Invalid decimal places", {"decimal_places": "Must be 1 to 10"})
    if "currency_code" in out:
        code = str(out["currency_code"]).strip().upper()
        if code not in CURRENCY_CODES:
            raise Invalid("Invalid currency code", {"currency_code": "Not an ISO 4217 code"})
        out["currency_code"] = code
    return out


def _choice_kind(field: Field) -> FieldKind:
    kind = KINDS[field.type]
    if not kind.has_choices:
        raise Invalid(f"A {field.type} field has no choices", {"id": "Not a choice field"})
    return kind


def _add_choices(
    field: Field, kind: FieldKind, items: Iterable[Any], where: str, ids: Iterable[str]
) -> None:
    """Append validated choices (``items`` have ``name`` and maybe ``color``)."""
    given = iter(ids)
    start = max((c.position for c in field.choices), default=-1) + 1
    for n, item in enumerate(items):
        name = _choice_name(item.name, field.choices, f"{where}{n}.name")
        color = getattr(item, "color", MISSING)
        choice = FieldChoice(
            id=next(given, None) or new_id(),
            name=name,
            position=start + n,
            color=_choice_color(kind, color, f"{where}{n}.color"),
            org_id=field.org_id,
        )
        field.choices.append(choice)


def _choice_name(name: str, others: Iterable[FieldChoice], key: str) -> str:
    name = name.strip()
    if not name:
        raise Invalid("Invalid choice name", {key: "Must not be blank"})
    if any(c.name.lower() == name.lower() for c in others):
        raise Invalid("A choice with this name already exists", {key: "Already in use"})
    return name


def _choice_color(kind: FieldKind, color: Any, key: str) -> str | None:
    """Label choices need a color of the spec's palette; other choices have none."""
    if not kind.colored_choices:
        if color is not MISSING:
            raise Invalid("Only label choices have a color", {key: "Not allowed here"})
        return None
    code = color.upper() if isinstance(color, str) else None
    if code not in LABEL_COLORS:
        allowed = ", ".join(sorted(LABEL_COLORS))
        raise Invalid("Invalid choice color", {key: f"One of {allowed}"})
    return code


def _load_choice(
    session: Session, principal: Principal, field_id: str, choice_id: str
) -> tuple[Field, FieldChoice]:
    field = _repo(session, principal, "write").get(field_id)
    choice = next((c for c in field.choices if c.id == choice_id), None)
    if choice is None:
        raise NotFound()
    return field, choice
