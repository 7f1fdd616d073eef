"""The content service other resources call: make, change and load a structured content,
wherever it lives (a library asset: ``asset_id``; a task: ``task_id``).

- ``create_content(session, org_id, user_id, new, ...)`` -> ``ContentView``: checks the
  content type (enabled), validates ``new.fields`` (raw JSON, as sent) against its latest
  version, writes the content and its first fields version. Flushes, never commits.
- ``update_content(session, view, user_id, patch)`` -> ``(ContentView, fields_changed)``:
  applies ``ContentPatch`` (metadata; ``fields`` with the PATCH semantics of the spec's
  ``StructuredContentFields``, ``merge_fields``), validates the result against the
  content's content type version and adds a fields version only when the fields change.
- ``load_content(session, org_id, content_id)`` -> ``ContentView`` (NotFound).
- ``view_of(session, content)`` -> ``ContentView`` of a loaded row.
- ``new_from_wire(content_body, raw_fields, title)`` / ``patch_from_wire(...)`` build the
  inputs from the wire bodies (createStructuredContent's ``content_body`` shape).
- ``DbLookup``: the organization's assets and contents, for ``validation.check_fields``.
- ``content_hash(fields)``: SHA-256 of the canonical JSON of stored fields.
- ``add_fields_version(session, content, fields, user_id, validation)``: a new latest
  fields version as is (the caller checked ``fields`` with ``validation.check_fields``).

``mapping.content_details(view...)`` renders a view as ``ContentDetailsModel``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.structured_content import types
from cmpapi.server.resources.structured_content.tables import (
    Content,
    ContentFieldsVersion,
    ContentType,
    ContentTypeVersion,
)
from cmpapi.server.resources.structured_content.validation import (
    FIELDS,
    check_fields,
    require_valid,
    validation_map,
)
from cmpapi.wire import MISSING

DEFAULT_LOCALE = "en_US"
MAX_TITLE = 255
MAX_LOCALE = 64  # Content.primary_locale
_META = ("source", "source_id", "source_metadata")


@dataclass(frozen=True, slots=True)
class ContentView:
    """A content with its content type, the type version it is written against and its
    latest fields version."""

    content: Content
    content_type: ContentType
    version: ContentTypeVersion
    fields_version: ContentFieldsVersion


@dataclass(slots=True)
class NewContent:
    """What a new content is made of. ``fields``: the raw ``{key: [{locale,
    field_values}]}`` (None: no values)."""

    content_type_id: str
    title: str
    fields: Any = None
    root_content: bool = True
    expired: bool = False
    expiry_datetime: datetime | None = None
    source: str | None = None
    source_id: str | None = None
    source_metadata: str | None = None
    template_guid: str | None = None
    primary_locale: str | None = None  # None: the version's first expected locale


@dataclass(slots=True)
class ContentPatch:
    """A change: only the keys in ``values`` change (``title``, ``expired``,
    ``expiry_datetime``, ``source``, ``source_id``, ``source_metadata``); ``fields`` is a
    raw ``StructuredContentFields`` (None: fields unchanged)."""

    values: dict[str, Any] = field(default_factory=dict)
    fields: Any = None


class DbLookup:
    """``validation.RefLookup`` over one organization's library assets and contents."""

    def __init__(self, session: Session, org_id: str) -> None:
        self.session = session
        self.org_id = org_id

    def asset_types(self, ids: Collection[str]) -> Mapping[str, str]:
        stmt = select(Asset.id, Asset.type).where(Asset.org_id == self.org_id, Asset.id.in_(ids))
        return {row.id: row.type for row in self.session.execute(stmt)}

    def content_types(self, ids: Collection[str]) -> Mapping[str, str]:
        stmt = select(Content.id, Content.content_type_id).where(
            Content.org_id == self.org_id, Content.id.in_(ids)
        )
        return {row.id: row.content_type_id for row in self.session.execute(stmt)}


def content_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of stored fields (sorted keys, no spaces)."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def primary_locale_of(version: ContentTypeVersion) -> str:
    """A new content's primary locale: the version's first expected locale, else en_US."""
    return version.expected_locales[0] if version.expected_locales else DEFAULT_LOCALE


def check_locale(version: ContentTypeVersion, locale: str | None, path: str) -> str:
    """``locale`` as a content's primary locale (one of the version's expected locales,
    when it lists any); None: ``primary_locale_of(version)``."""
    if locale is None:
        return primary_locale_of(version)
    if not locale.strip() or len(locale) > MAX_LOCALE:
        message = f"Must be a locale of 1 to {MAX_LOCALE} characters"
    elif version.expected_locales and locale not in version.expected_locales:
        message = f"Not one of the expected locales {list(version.expected_locales)}"
    else:
        return locale
    raise Invalid("Invalid structured content", {path: message})


# -- loading -----------------------------------------------------------------------------


def lock(session: Session, content_id: str) -> None:
    """Take the content row's write lock before reading it to change it (PostgreSQL; SQLite
    has one writer anyway): a writer then reads what was committed last, and waits for a
    managed migration's batch or another writer holding it."""
    session.execute(select(Content.id).where(Content.id == content_id).with_for_update())


def load_content(session: Session, org_id: str, content_id: str) -> ContentView:
    """The organization's content with everything its details show, or NotFound."""
    found = Repository(Content, session, org_id).find(Content.id == content_id)
    if found is None:
        raise NotFound("Structured content not found")
    return view_of(session, found)


def view_of(session: Session, content: Content) -> ContentView:
    """The ``ContentView`` of a content row."""
    content_type = session.get(ContentType, content.content_type_id)
    version = session.get(ContentTypeVersion, content.content_type_version_id)
    fields_version = session.get(ContentFieldsVersion, content.latest_fields_version_id)
    if content_type is None or version is None or fields_version is None:  # pragma: no cover
        raise NotFound("Structured content not found")
    return ContentView(content, content_type, version, fields_version)


# -- writing -----------------------------------------------------------------------------


def create_content(
    session: Session,
    org_id: str,
    user_id: str,
    new: NewContent,
    *,
    content_id: str | None = None,
    asset_id: str | None = None,
    task_id: str | None = None,
    where: str = "content_body",
) -> ContentView:
    """Validate and write a content and its first fields version (flushed, not
    committed). ``content_id``: its id (a library content: the id of its asset row,
    given as ``asset_id`` too). Refusals name paths under ``where``."""
    content_type = _usable_type(session, org_id, new.content_type_id, where)
    version = types.latest_version(session, content_type)
    cid = content_id or new_id()
    locale = check_locale(version, new.primary_locale, f"{where}.primary_locale")
    fields = _checked(session, org_id, version, locale, new.fields, cid, where)
    now = utcnow()
    content = Content(
        id=cid,
        content_type_id=content_type.id,
        content_type_version_id=version.id,
        title=checked_title(new.title, where),
        primary_locale=locale,
        root_content=new.root_content,
        expired=new.expired,
        expiry_datetime=new.expiry_datetime,
        source=new.source,
        source_id=new.source_id,
        source_metadata=new.source_metadata,
        template_guid=new.template_guid,
        asset_id=asset_id,
        task_id=task_id,
        created_by=user_id,
        updated_by=user_id,
        created_at=now,
        updated_at=now,
    )
    Repository(Content, session, org_id).add(content)
    fields_version = add_fields_version(session, content, fields, user_id)
    return ContentView(content, content_type, version, fields_version)


def update_content(
    session: Session,
    view: ContentView,
    user_id: str,
    patch: ContentPatch,
    where: str = "content_body",
) -> tuple[ContentView, bool]:
    """Apply ``patch`` (flushed, not committed); whether the fields changed. The content
    stays on its content type version (migrations move it to another)."""
    content = view.content
    for key, value in patch.values.items():
        if key == "title":
            value = checked_title(value, where)
        setattr(content, key, value)
    fields_version = view.fields_version
    changed = False
    if patch.fields is not None:
        merged = merge_fields(view.fields_version.fields, patch.fields, f"{where}.fields")
        fields = _checked(
            session, content.org_id, view.version, _locale(content, view), merged, content.id, where
        )
        if content_hash(fields) != view.fields_version.content_hash:
            fields_version = add_fields_version(session, content, fields, user_id)
            changed = True
    if patch.values or changed:
        content.updated_by = user_id
        content.updated_at = utcnow()
    session.flush()
    return ContentView(content, view.content_type, view.version, fields_version), changed


def merge_fields(stored: Mapping[str, Any], patch: Any, where: str = f"{FIELDS}") -> dict[str, Any]:
    """Stored fields with a ``StructuredContentFields`` patch applied, as raw fields for
    ``check_fields``. Per field key, per locale entry:

    - ``{"locale", "delete": true}`` removes the locale's values (``false``: no-op);
    - ``{"locale", "field_values": [...]}`` replaces the locale's values, unless the list
      holds a ``{"delete": true, "order_index": n}``: then it is a list of edits, each
      delete removing the value at ``n``, a value with ``order_index`` replacing the one
      there (or adding it), a value without one appended at the end.

    Keys the patch does not name keep their values."""
    if not isinstance(patch, dict):
        raise Invalid("Invalid structured content", {where: "Must be an object"})
    merged: dict[str, list[dict[str, Any]]] = {
        key: [dict(entry) for entry in entries] for key, entries in stored.items()
    }
    errors: dict[str, str] = {}
    for key, entries in patch.items():
        if not isinstance(entries, list):
            errors[f"{where}.{key}"] = "Must be a list"
            continue
        by_locale = {entry["locale"]: entry for entry in merged.get(key, [])}
        for i, entry in enumerate(entries):
            _merge_entry(by_locale, entry, f"{where}.{key}.{i}", errors)
        merged[key] = [e for e in by_locale.values() if e.get("field_values")]
    if errors:
        raise Invalid("Invalid structured content", errors)
    return merged


def _merge_entry(
    by_locale: dict[str, dict[str, Any]], entry: Any, path: str, errors: dict[str, str]
) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("locale"), str):
        errors[path] = "Must be an object with a locale"
        return
    locale = entry["locale"]
    if "field_values" not in entry:
        if set(entry) != {"locale", "delete"} or type(entry["delete"]) is not bool:
            errors[path] = "Give field_values, or delete: true to remove the locale"
        elif entry["delete"]:
            by_locale.pop(locale, None)
        return
    values = entry["field_values"]
    if not isinstance(values, list):
        errors[f"{path}.field_values"] = "Must be a list"
        return
    if not any(_is_delete(v) for v in values):
        by_locale[locale] = {"locale": locale, "field_values": values}
        return
    current = by_locale.get(locale, {"locale": locale, "field_values": []})["field_values"]
    by_locale[locale] = {"locale": locale, "field_values": _edit(current, values, path, errors)}


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and "delete" in value


def _edit(
    current: list[dict[str, Any]], edits: list[Any], path: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    slots: dict[int, dict[str, Any]] = {
        v.get("order_index", n): dict(v) for n, v in enumerate(current)
    }
    appended: list[dict[str, Any]] = []
    for j, edit in enumerate(edits):
        where = f"{path}.field_values.{j}"
        if _is_delete(edit):
            index = edit.get("order_index")
            if set(edit) - {"delete", "order_index"} or type(index) is not int:
                errors[where] = "A delete names the order_index of the value to remove"
            elif edit["delete"] is True:
                slots.pop(index, None)
        elif isinstance(edit, dict) and type(edit.get("order_index")) is int:
            slots[edit["order_index"]] = edit
        else:
            appended.append(edit)
    kept = [slots[i] for i in sorted(slots)]
    out = [{k: v for k, v in value.items() if k != "order_index"} for value in kept]
    return out + appended


def _checked(
    session: Session,
    org_id: str,
    version: ContentTypeVersion,
    locale: str,
    raw: Any,
    content_id: str,
    where: str,
) -> dict[str, Any]:
    checked = check_fields(
        raw,
        version.field_definitions,
        version.expected_locales,
        locale,
        DbLookup(session, org_id),
        content_id=content_id,
        where=f"{where}.fields",
    )
    require_valid(checked)
    return checked.stored_fields


def add_fields_version(
    session: Session,
    content: Content,
    fields: dict[str, Any],
    user_id: str,
    validation: dict[str, dict[str, str]] | None = None,
) -> ContentFieldsVersion:
    """A new latest fields version of ``content`` (stored fields, as ``check_fields``
    returns them; ``validation``: ``validation.validation_map`` of problems it is saved
    with, for writers that keep invalid values, e.g. a migration). Flushed."""
    row = ContentFieldsVersion(
        id=new_id(),
        content_id=content.id,
        content_type_version_id=content.content_type_version_id,
        fields=fields,
        content_hash=content_hash(fields),
        validation=validation or validation_map([]),
        created_by=user_id,
        created_at=utcnow(),
    )
    Repository(ContentFieldsVersion, session, content.org_id).add(row)
    content.latest_fields_version_id = row.id
    return row


def _usable_type(session: Session, org_id: str, type_id: str, where: str) -> ContentType:
    found = Repository(ContentType, session, org_id).find(ContentType.id == type_id)
    if found is None:
        raise Invalid(
            "Invalid structured content", {f"{where}.content_type_guid": "Unknown content type"}
        )
    if found.disabled:
        raise Invalid(
            "Invalid structured content",
            {f"{where}.content_type_guid": "The content type is disabled"},
        )
    return found


def checked_title(title: Any, where: str = "content_body") -> str:
    """``title`` if it is a usable content title (1 to MAX_TITLE characters, not blank),
    else ``Invalid`` naming ``<where>.title``."""
    key = f"{where}.title" if where else "title"
    if not isinstance(title, str) or not title.strip():
        raise Invalid("Invalid structured content", {key: "Must not be empty"})
    if len(title) > MAX_TITLE:
        raise Invalid("Invalid structured content", {key: f"At most {MAX_TITLE} characters"})
    return title


def _locale(content: Content, view: ContentView) -> str:
    return content.primary_locale or primary_locale_of(view.version)


# -- from the wire -----------------------------------------------------------------------


def _given(value: Any) -> Any:
    return None if value is MISSING else value


def new_from_wire(content_body: Any, raw_fields: Any, title: str) -> NewContent:
    """A ``NewContent`` from a create body's ``content_body`` (the
    ``LibraryStructuredContentCreateRequest`` shape: content_type_guid, root_content,
    expired, expiry_datetime, source...) and its ``fields`` as sent."""
    return NewContent(
        content_type_id=content_body.content_type_guid,
        title=title,
        fields=raw_fields,
        root_content=content_body.root_content,
        expired=bool(_given(content_body.expired)),
        expiry_datetime=_given(content_body.expiry_datetime),
        **{key: _given(getattr(content_body, key)) for key in _META},
    )


def patch_from_wire(content_body: Any, raw_fields: Any, title: Any = MISSING) -> ContentPatch:
    """A ``ContentPatch`` from an update body's ``content_body`` (the
    ``LibraryStructuredContentUpdateRequest`` shape) and its ``fields`` as sent; ``title``
    (the asset's title, which wins over ``content_body.title``) when given."""
    values: dict[str, Any] = {}
    if content_body is not MISSING and content_body is not None:
        for key in ("expired", "expiry_datetime", "title", *_META):
            value = getattr(content_body, key)
            if value is not MISSING and not (value is None and key in ("expired", "title")):
                values[key] = value
    if title is not MISSING and title is not None:
        values["title"] = title
    return ContentPatch(values, raw_fields)
