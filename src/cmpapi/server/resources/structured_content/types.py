"""Content types and their versions: listSCContentTypes, createSCContentType,
getSCContentType, updateSCContentType, listSCContentTypeVersions,
createSCContentTypeVersion, getSCContentTypeVersion; and what contents ask of them
(``load_type``, ``load_version``, ``latest_version``, ``versions_by_id``).

Reading is for every role (``content_types:read``); writing is organization
configuration, admins only (``content_types:write``, authz.ADMIN_ONLY_PREFIXES), like
custom fields. ``created_by``/``updated_by`` are stored as the bodies give them.
A new version is made only when the definitions or the expected locales change; the same
ones again answer ``created: false`` with the latest version (docs/compat.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.structured_content.definitions import (
    check_definitions,
    referenced_types,
)
from cmpapi.server.resources.structured_content.tables import ContentType, ContentTypeVersion
from cmpapi.wire import (
    MISSING,
    CoreContentType,
    ListSCContentTypesParametersQuery,
    SCContentTypeCreateRequest,
    SCContentTypeUpdateRequest,
    SCContentTypeVersionCreateRequest,
)

READ, WRITE = "content_types:read", "content_types:write"
MAX_LOCALES = 200
MAX_LOCALE = 64


@dataclass(frozen=True, slots=True)
class Created:
    """The answer of createSCContentType / createSCContentTypeVersion: whether something
    was made, the type and its (new or unchanged) latest version."""

    created: bool
    content_type: ContentType
    version: ContentTypeVersion


# -- for other modules -------------------------------------------------------------------


def load_type(session: Session, org_id: str, type_id: str) -> ContentType:
    """The organization's content type, or NotFound ("Content type not found")."""
    found = Repository(ContentType, session, org_id).find(ContentType.id == type_id)
    if found is None:
        raise NotFound("Content type not found")
    return found


def load_type_or_none(session: Session, org_id: str, type_id: str) -> ContentType | None:
    """The organization's content type, or None."""
    return Repository(ContentType, session, org_id).find(ContentType.id == type_id)


def load_version(
    session: Session, org_id: str, type_id: str, version_id: str
) -> ContentTypeVersion:
    """A version of the organization's content type, or NotFound."""
    found = Repository(ContentTypeVersion, session, org_id).find(
        ContentTypeVersion.content_type_id == type_id, ContentTypeVersion.id == version_id
    )
    if found is None:
        raise NotFound("Content type version not found")
    return found


def latest_version(session: Session, content_type: ContentType) -> ContentTypeVersion:
    """The newest version of a content type (every type has one)."""
    version = session.get(ContentTypeVersion, content_type.latest_version_id)
    if version is None:  # pragma: no cover - written together with the type
        raise NotFound("Content type version not found")
    return version


def versions_by_id(session: Session, ids: Sequence[str]) -> dict[str, ContentTypeVersion]:
    """The versions with these ids (any type), keyed by id."""
    if not ids:
        return {}
    rows = session.scalars(select(ContentTypeVersion).where(ContentTypeVersion.id.in_(ids)))
    return {row.id: row for row in rows}


def is_latest(content_type: ContentType, version: ContentTypeVersion) -> bool:
    return content_type.latest_version_id == version.id


# -- the operations ----------------------------------------------------------------------


def list_sc_content_types(
    session: Session, principal: Principal, params: ListSCContentTypesParametersQuery
) -> list[ContentType]:
    """Every content type of the organization, by name. ``disabled=true`` (the
    spec's default) includes disabled types, ``false`` leaves them out; ``list`` 1 keeps
    components, 2 contents, 3 both; ``source`` is an exact match."""
    require(principal, READ)
    where: list[ColumnElement[bool]] = []
    if params.source is not MISSING:
        where.append(ContentType.source == params.source)
    if not params.disabled:
        where.append(ContentType.disabled.is_(False))
    if params.list.value == "1":
        where.append(ContentType.component.is_(True))
    elif params.list.value == "2":
        where.append(ContentType.component.is_(False))
    stmt = (
        select(ContentType)
        .where(ContentType.org_id == principal.org_id, *where)
        .order_by(func.lower(ContentType.name), ContentType.id)
    )
    return list(session.scalars(stmt))


def create_sc_content_type(
    session: Session,
    principal: Principal,
    body: SCContentTypeCreateRequest,
    raw: Any,
    *,
    ids: tuple[str, str] | None = None,
) -> Created:
    """Create a content type and its first version from ``raw`` (the request's
    ``field_definitions`` as sent). A type with the same ``source`` and ``source_id``
    already there is answered as it is (``created: false``). ``ids``: the type's and the
    version's (the demo's stable ids), else new ones."""
    require(principal, WRITE)
    if body.source is not MISSING and body.source_id is not MISSING:
        existing = Repository(ContentType, session, principal.org_id).find(
            ContentType.source == body.source, ContentType.source_id == body.source_id
        )
        if existing is not None:
            return Created(False, existing, latest_version(session, existing))
    definitions = _definitions(session, principal.org_id, raw, None)
    locales = _locales(body.expected_locales)
    details = body.details
    type_id, version_id = ids or (new_id(), new_id())
    row = ContentType(
        id=type_id,
        name=_name(details.name),
        component=details.component,
        **_optional_details(details),
        source=_opt(body.source),
        source_id=_opt(body.source_id),
        source_metadata=_opt(body.source_metadata),
        created_by=body.created_by,
        updated_by=body.created_by,
    )
    Repository(ContentType, session, principal.org_id).add(row)
    version = _add_version(session, row, 1, locales, definitions, body.created_by, version_id)
    session.commit()
    return Created(True, row, version)


def get_sc_content_type(
    session: Session, principal: Principal, type_id: str
) -> tuple[ContentType, ContentTypeVersion]:
    """One content type and its latest version."""
    require(principal, READ)
    row = load_type(session, principal.org_id, type_id)
    return row, latest_version(session, row)


def update_sc_content_type(
    session: Session, principal: Principal, type_id: str, body: SCContentTypeUpdateRequest
) -> ContentType:
    """Change the details (name and component always; description, disabled and
    thumbnail when given) and source_metadata. Fields change through versions."""
    require(principal, WRITE)
    row = load_type(session, principal.org_id, type_id)
    details = body.details
    row.name = _name(details.name)
    row.component = details.component
    for key, value in _optional_details(details).items():
        setattr(row, key, value)
    if body.source_metadata is not MISSING:
        row.source_metadata = body.source_metadata
    row.updated_by = body.updated_by
    row.updated_at = utcnow()
    session.commit()
    return row


def list_sc_content_type_versions(
    session: Session, principal: Principal, type_id: str
) -> tuple[ContentType, list[ContentTypeVersion]]:
    """A content type's versions, oldest first."""
    require(principal, READ)
    row = load_type(session, principal.org_id, type_id)
    stmt = (
        select(ContentTypeVersion)
        .where(ContentTypeVersion.content_type_id == row.id)
        .order_by(ContentTypeVersion.sequence)
    )
    return row, list(session.scalars(stmt))


def create_sc_content_type_version(
    session: Session,
    principal: Principal,
    type_id: str,
    body: SCContentTypeVersionCreateRequest,
    raw: Any,
    *,
    version_id: str | None = None,
) -> Created:
    """A new latest version, unless the definitions and locales are the latest's.
    ``version_id``: its id (the demo's), else a new one."""
    require(principal, WRITE)
    row = load_type(session, principal.org_id, type_id)
    definitions = _definitions(session, principal.org_id, raw, row.id)
    latest = latest_version(session, row)
    locales = latest.expected_locales
    if body.expected_locales is not MISSING:
        locales = _locales(body.expected_locales)
    if definitions == latest.field_definitions and locales == latest.expected_locales:
        return Created(False, row, latest)
    sequence = latest.sequence + 1
    version = _add_version(
        session, row, sequence, locales, definitions, body.created_by, version_id
    )
    row.updated_by = body.created_by
    row.updated_at = version.created_at
    session.commit()
    return Created(True, row, version)


def get_sc_content_type_version(
    session: Session, principal: Principal, type_id: str, version_id: str
) -> tuple[ContentType, ContentTypeVersion]:
    """One version of a content type."""
    require(principal, READ)
    row = load_type(session, principal.org_id, type_id)
    return row, load_version(session, principal.org_id, row.id, version_id)


# -- helpers -----------------------------------------------------------------------------


def _add_version(
    session: Session,
    row: ContentType,
    sequence: int,
    locales: list[str],
    definitions: list[dict[str, Any]],
    created_by: str,
    version_id: str | None = None,
) -> ContentTypeVersion:
    version = ContentTypeVersion(
        id=version_id or new_id(),
        content_type_id=row.id,
        sequence=sequence,
        expected_locales=locales,
        field_definitions=definitions,
        created_by=created_by,
        created_at=utcnow(),
    )
    Repository(ContentTypeVersion, session, row.org_id).add(version)
    row.latest_version_id = version.id
    session.flush()
    return version


def _definitions(
    session: Session, org_id: str, raw: Any, self_id: str | None
) -> list[dict[str, Any]]:
    """Checked definitions whose content-type fields name existing types (or the type
    itself, for a new version: a content may embed its own kind)."""
    definitions = check_definitions(raw)
    for definition in definitions:
        definition.pop("content_type_links", None)  # shown from the current names
    refs = referenced_types(definitions)
    known = set(
        session.scalars(
            select(ContentType.id).where(ContentType.org_id == org_id, ContentType.id.in_(refs))
        )
    )
    errors = {
        path: f"No content type {type_id!r}"
        for type_id, paths in refs.items()
        if type_id not in known and type_id != self_id
        for path in paths
    }
    if errors:
        raise Invalid("Invalid field definitions", errors)
    return definitions


def _locales(value: Any) -> list[str]:
    if value is MISSING:
        return []
    locales: list[str] = list(value)
    errors = {
        f"expected_locales.{i}": f"A locale of 1 to {MAX_LOCALE} characters, given once"
        for i, locale in enumerate(locales)
        if not locale.strip() or len(locale) > MAX_LOCALE or locale in locales[:i]
    }
    if len(locales) > MAX_LOCALES:
        errors["expected_locales"] = f"At most {MAX_LOCALES} locales"
    if errors:
        raise Invalid("Invalid expected locales", errors)
    return locales


def _name(name: str) -> str:
    if not name.strip():
        raise Invalid("Invalid content type", {"details.name": "Must not be empty"})
    if len(name) > 255:
        raise Invalid("Invalid content type", {"details.name": "At most 255 characters"})
    return name


def _optional_details(details: CoreContentType) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("description", "disabled", "thumbnail_guid"):
        value = getattr(details, key)
        if value is not MISSING:
            out[key] = value
    return out


def _opt(value: Any) -> Any:
    return None if value is MISSING else value
