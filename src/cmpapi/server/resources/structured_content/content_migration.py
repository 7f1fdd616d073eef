"""migrateSCContent: move one content to another version of its content type, and what a
managed migration's job shares with it (``moved_fields``, ``fields_version_row``).

The request must carry the ``content_hash`` of the content's latest fields version
(optimistic concurrency: another hash is a 409, nothing is written). The target version
(``new_content_type_version_id``; default: the type's latest) must be a version of the
content's own type. The fields follow the mapping rules of ``migration.py`` with the
request's ``fields`` overriding, and must be valid on the target version (422 naming each
path under ``fields``). The content moves to the target version with a new fields version;
migrating to the version it is on with nothing changed writes nothing (``created: false``).
A library content records ``asset_modified``, a task's ``task_asset_modified``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import BadRequest, Conflict, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.assets import load_asset
from cmpapi.server.resources.library.events import record_asset_event
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.structured_content import contents, migration, types
from cmpapi.server.resources.structured_content.migration_bodies import MigrateBody, given
from cmpapi.server.resources.structured_content.tables import (
    Content,
    ContentFieldsVersion,
    ContentTypeVersion,
)
from cmpapi.server.resources.structured_content.task_contents import VERSIONS
from cmpapi.server.resources.structured_content.validation import (
    Checked,
    RefLookup,
    check_fields,
    require_valid,
    validation_map,
)
from cmpapi.server.resources.tasks import asset_events as task_events
from cmpapi.server.resources.tasks.asset_service import writable_task
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.wire import MISSING


@dataclass(frozen=True, slots=True)
class Migrated:
    """The answer: the content, its (new or unchanged) latest fields version, and whether
    one was written."""

    content: Content
    fields_version: ContentFieldsVersion
    created: bool


def moved_fields(
    lookup: RefLookup,
    content_id: str,
    primary_locale: str,
    stored: Mapping[str, Any],
    source: ContentTypeVersion,
    target: ContentTypeVersion,
    given: Mapping[str, Any] | None,
    *,
    fill_only: bool,
    where: str,
) -> Checked:
    """A content's ``stored`` latest fields mapped onto ``target`` (migration.map_fields)
    and checked there; problems are named under ``where``."""
    raw = migration.map_fields(
        stored,
        source.field_definitions,
        target.field_definitions,
        target.expected_locales,
        primary_locale,
        given,
        fill_only=fill_only,
    )
    return check_fields(
        raw,
        target.field_definitions,
        target.expected_locales,
        primary_locale,
        lookup,
        content_id=content_id,
        where=where,
    )


def locale_of(primary_locale: str | None, version: ContentTypeVersion) -> str:
    """A content's primary locale (contents written before it was stored: the default)."""
    return primary_locale or contents.primary_locale_of(version)


def fields_version_row(
    org_id: str,
    content_id: str,
    target_version_id: str,
    fields: dict[str, Any],
    created_by: str,
    source_id: str | None = None,
) -> dict[str, Any]:
    """A new ``sc_content_fields_versions`` row of a content on the target version, as
    ``contents.add_fields_version`` writes them, for the managed migration's job to
    insert in bulk."""
    return {
        "id": new_id(),
        "org_id": org_id,
        "content_id": content_id,
        "content_type_version_id": target_version_id,
        "fields": fields,
        "content_hash": contents.content_hash(fields),
        "validation": validation_map([]),
        "source_id": source_id,
        "created_by": created_by,
        "created_at": utcnow(),
    }


def writable_content(session: Session, principal: Principal, content: Content) -> None:
    """Raise Forbidden unless the caller may change the content: a library content's asset
    with edit access (as updateStructuredContent), a task's content through its task (as
    updateTaskStructuredContent)."""
    if content.task_id is not None:
        writable_task(session, principal, content.task_id)
        return
    require(principal, "library:write")
    if content.asset_id is not None:
        load_asset(session, principal, content.asset_id, "edit")


def record_moved(session: Session, links: Links, moved: Sequence[Any]) -> None:
    """The events of contents moved to another version (``Content`` rows, or rows with
    their ``id``, ``asset_id`` and ``task_id``), read in one query per kind: a library
    content's asset ``asset_modified``, a task's content ``task_asset_modified`` with
    ``attributes_changed: ["versions"]``; each asset row's ``modified_at`` follows."""
    library = [c.asset_id for c in moved if c.asset_id is not None]
    of_tasks = [c.id for c in moved if c.task_id is not None]
    if library:
        for asset in session.scalars(select(Asset).where(Asset.id.in_(library))):
            asset.modified_at = utcnow()
            record_asset_event(session, links, "asset_modified", asset)
    if of_tasks:
        for task_asset in session.scalars(select(TaskAsset).where(TaskAsset.id.in_(of_tasks))):
            task_asset.modified_at = utcnow()
            task_events.record_asset_modified(session, links, task_asset, [VERSIONS])


def _target(session: Session, view: contents.ContentView, version_id: Any) -> ContentTypeVersion:
    if version_id is MISSING or version_id is None:
        return types.latest_version(session, view.content_type)
    found = Repository(ContentTypeVersion, session, view.content.org_id).find(
        ContentTypeVersion.id == version_id
    )
    if found is None:
        raise NotFound("Content type version not found")
    if found.content_type_id != view.content.content_type_id:
        raise BadRequest(
            "The content type version belongs to another content type",
            {"new_content_type_version_id": "Not a version of the content's content type"},
        )
    return found


def migrate_sc_content(
    session: Session,
    principal: Principal,
    links: Links,
    content_id: str,
    body: MigrateBody,
) -> Migrated:
    """migrateSCContent (see the module docstring)."""
    # Lock the content first (PostgreSQL): the hash is compared with what is committed
    # last, and a managed migration's batch holding it is waited for.
    contents.lock(session, content_id)
    view = contents.load_content(session, principal.org_id, content_id)
    writable_content(session, principal, view.content)
    target = _target(session, view, body.new_content_type_version_id)
    if body.content_hash != view.fields_version.content_hash:
        raise Conflict("The content changed: content_hash is not the latest fields version's")
    lookup = contents.DbLookup(session, principal.org_id)
    content = view.content
    locale = locale_of(content.primary_locale, view.version)
    checked = moved_fields(
        lookup,
        content.id,
        locale,
        view.fields_version.fields,
        view.version,
        target,
        given(body.fields),
        fill_only=False,
        where="fields",
    )
    require_valid(checked, "The content cannot be migrated to this content type version")
    fields = checked.stored_fields
    unchanged = contents.content_hash(fields) == view.fields_version.content_hash
    if target.id == view.version.id and unchanged:
        return Migrated(content, view.fields_version, False)
    row = _move(session, content, target, fields, body)
    record_moved(session, links, [content])
    session.commit()
    return Migrated(content, row, True)


def _move(
    session: Session,
    content: Content,
    target: ContentTypeVersion,
    fields: dict[str, Any],
    body: MigrateBody,
) -> ContentFieldsVersion:
    """Put the content on ``target`` with a new fields version (flushed)."""
    content.content_type_version_id = target.id
    row = contents.add_fields_version(session, content, fields, body.created_by)
    row.source_id = given(body.source_id)
    for key in ("source", "source_id"):
        if getattr(body, key) is not MISSING:
            setattr(content, key, getattr(body, key))
    content.updated_by = body.created_by
    content.updated_at = utcnow()
    session.flush()
    return row
