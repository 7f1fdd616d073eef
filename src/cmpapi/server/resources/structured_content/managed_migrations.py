"""Managed migrations of a content type: validateSCContentTypeManagedMigration,
createSCContentTypeManagedMigration, listSCContentTypeManagedMigrations,
getSCContentTypeManagedMigration, updateSCContentTypeManagedMigration,
deleteSCContentTypeManagedMigration, startSCContentTypeManagedMigration.

A migration moves every content of a content type that is on its source version to the
version that was the type's latest when the migration was created, with the mapping rules
of ``migration.py`` (default values fill what the contents lack). Starting it writes the
work list (the contents on the source version then) and enqueues a durable job
(``managed_jobs.py``). Reading is for every role (``content_types:read``); creating,
changing, deleting and starting one is organization configuration, admins only
(``content_types:write``), as content types are. docs/compat.md, "Structured content:
migrations".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import BadRequest, Invalid, NotFound
from cmpapi.server.jobs import enqueue
from cmpapi.server.resources.structured_content import contents, migration, types
from cmpapi.server.resources.structured_content.content_migration import locale_of, moved_fields
from cmpapi.server.resources.structured_content.managed_tables import (
    ERROR,
    ERRORED,
    IN_PROGRESS,
    NOT_STARTED,
    SKIPPED,
    SUCCEEDED,
    ManagedMigration,
    ManagedMigrationItem,
)
from cmpapi.server.resources.structured_content.migration_bodies import (
    CreateBody,
    UpdateBody,
    ValidateBody,
    given,
)
from cmpapi.server.resources.structured_content.tables import (
    Content,
    ContentFieldsVersion,
    ContentType,
    ContentTypeVersion,
)
from cmpapi.wire import ListSCContentTypeManagedMigrationsParametersQuery

READ, WRITE = types.READ, types.WRITE
JOB = "sc.managed_migration"
BATCH_SIZE = 200  # contents per transaction of the job
TYPE_NOT_FOUND = "Could not find the content type"
VERSION_NOT_FOUND = "Could not find the source content type version"
MIGRATION_NOT_FOUND = "No managed migration job found for job_id {id}"


@dataclass(frozen=True, slots=True)
class Summary:
    """``ContentMigrationSummary``."""

    total: int
    succeeded: int = 0
    errored: int = 0
    skipped: int = 0
    not_started: int = 0


@dataclass(frozen=True, slots=True)
class MigrationView:
    """A migration and, when asked for, its summary."""

    migration: ManagedMigration
    summary: Summary | None = None


@dataclass(frozen=True, slots=True)
class Created:
    """createSCContentTypeManagedMigration's answer: the new migration, or None when one
    is already waiting or running for the same source version (``created: false``)."""

    migration: ManagedMigration | None


# -- loading -----------------------------------------------------------------------------


def _load_type(session: Session, org_id: str, type_id: str) -> ContentType:
    found = Repository(ContentType, session, org_id).find(ContentType.id == type_id)
    if found is None:
        raise NotFound(TYPE_NOT_FOUND)
    return found


def _load_source(
    session: Session, content_type: ContentType, version_id: str
) -> ContentTypeVersion:
    found = Repository(ContentTypeVersion, session, content_type.org_id).find(
        ContentTypeVersion.content_type_id == content_type.id, ContentTypeVersion.id == version_id
    )
    if found is None:
        raise NotFound(VERSION_NOT_FOUND)
    return found


def load_migration(session: Session, org_id: str, type_id: str, job_id: str) -> ManagedMigration:
    """The organization's migration of that content type, or NotFound."""
    _load_type(session, org_id, type_id)
    found = Repository(ManagedMigration, session, org_id).find(
        ManagedMigration.id == job_id, ManagedMigration.content_type_id == type_id
    )
    if found is None:
        raise NotFound(MIGRATION_NOT_FOUND.format(id=job_id))
    return found


# -- summaries ---------------------------------------------------------------------------


def _item_counts(session: Session, ids: list[str]) -> dict[str, dict[str, int]]:
    """``{migration id: {item status: count}}`` of started migrations."""
    counts: dict[str, dict[str, int]] = {m: {} for m in ids}
    if ids:
        item = ManagedMigrationItem
        stmt = (
            select(item.migration_id, item.status, func.count())
            .where(item.migration_id.in_(ids))
            .group_by(item.migration_id, item.status)
        )
        for migration_id, status, n in session.execute(stmt):
            counts[migration_id][status] = n
    return counts


def _on_versions(session: Session, version_ids: set[str]) -> dict[str, int]:
    """How many contents are on each of these versions now."""
    if not version_ids:
        return {}
    stmt = (
        select(Content.content_type_version_id, func.count())
        .where(Content.content_type_version_id.in_(version_ids))
        .group_by(Content.content_type_version_id)
    )
    return {row.content_type_version_id: row[1] for row in session.execute(stmt)}


def summaries(session: Session, rows: Sequence[ManagedMigration]) -> dict[str, Summary]:
    """The summary of each migration: its items by outcome once started; before that, the
    contents on its source version now (all ``not_started``)."""
    counts = _item_counts(session, [m.id for m in rows if m.status != NOT_STARTED])
    on_version = _on_versions(
        session, {m.source_version_id for m in rows if m.status == NOT_STARTED}
    )
    out: dict[str, Summary] = {}
    for m in rows:
        if m.status == NOT_STARTED:
            n = on_version.get(m.source_version_id, 0)
            out[m.id] = Summary(total=n, not_started=n)
            continue
        c = counts[m.id]
        out[m.id] = Summary(
            total=sum(c.values()),
            succeeded=c.get(SUCCEEDED, 0),
            errored=c.get(ERRORED, 0),
            skipped=c.get(SKIPPED, 0),
            not_started=c.get(NOT_STARTED, 0),
        )
    return out


def _contents_on(session: Session, version_id: str, chunk: int = 500) -> Iterator[Any]:
    """``(id, primary_locale, fields)`` of every content on a version, in id order, read in
    chunks (no ORM objects: a type may have many thousands)."""
    last = ""
    while True:
        rows = session.execute(
            select(Content.id, Content.primary_locale, ContentFieldsVersion.fields)
            .join(ContentFieldsVersion, ContentFieldsVersion.id == Content.latest_fields_version_id)
            .where(Content.content_type_version_id == version_id, Content.id > last)
            .order_by(Content.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# -- the operations ----------------------------------------------------------------------


def validate_sc_content_type_managed_migration(
    session: Session, principal: Principal, type_id: str, body: ValidateBody
) -> bool:
    """Whether every content on the source version maps onto the type's latest version
    with these default values (False when the source is the latest: nothing to move)."""
    require(principal, READ)
    content_type = _load_type(session, principal.org_id, type_id)
    source = _load_source(session, content_type, body.source_content_type_version_id)
    target = types.latest_version(session, content_type)
    raw = migration.check_defaults(given(body.default_values), target.field_definitions)
    defaults = migration.keyed_defaults(raw)
    if source.id == target.id:
        return False
    lookup = contents.DbLookup(session, principal.org_id)
    for row in _contents_on(session, source.id):
        locale = locale_of(row.primary_locale, source)
        checked = moved_fields(
            lookup,
            row.id,
            locale,
            row.fields,
            source,
            target,
            defaults,
            fill_only=True,
            where="default_values",
        )
        if checked.problems:
            return False
    return True


def create_sc_content_type_managed_migration(
    session: Session,
    principal: Principal,
    type_id: str,
    body: CreateBody,
) -> Created:
    """A migration from the body's source version to the type's latest version; none
    (``created: false``) while one from that source is waiting or running."""
    require(principal, WRITE)
    content_type = _load_type(session, principal.org_id, type_id)
    source = _load_source(session, content_type, body.source_content_type_version_id)
    target = types.latest_version(session, content_type)
    if source.id == target.id:
        raise BadRequest(
            "The source version is the content type's latest version: nothing to migrate",
            {"source_content_type_version_id": "Already the latest version"},
        )
    raw = given(body.default_values)
    try:
        defaults = migration.check_defaults(raw, target.field_definitions)
    except Invalid as exc:
        raise BadRequest(exc.message, exc.errors) from None
    repo = Repository(ManagedMigration, session, principal.org_id)
    pending = repo.find(
        ManagedMigration.content_type_id == content_type.id,
        ManagedMigration.source_version_id == source.id,
        ManagedMigration.status.in_((NOT_STARTED, IN_PROGRESS)),
    )
    if pending is not None:
        return Created(None)
    now = utcnow()
    row = repo.add(
        ManagedMigration(
            content_type_id=content_type.id,
            source_version_id=source.id,
            target_version_id=target.id,
            default_values=defaults if raw is not None else None,
            created_by=body.created_by,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    return Created(row)


def list_sc_content_type_managed_migrations(
    session: Session,
    principal: Principal,
    type_id: str,
    params: ListSCContentTypeManagedMigrationsParametersQuery,
) -> list[MigrationView]:
    """The type's migrations, oldest first, ``offset``/``limit``; with summaries when
    ``content_migration_summary``."""
    require(principal, READ)
    _load_type(session, principal.org_id, type_id)
    rows = list(
        session.scalars(
            select(ManagedMigration)
            .where(
                ManagedMigration.org_id == principal.org_id,
                ManagedMigration.content_type_id == type_id,
            )
            .order_by(ManagedMigration.created_at, ManagedMigration.id)
            .offset(params.offset)
            .limit(params.limit)
        )
    )
    if not params.content_migration_summary:
        return [MigrationView(m) for m in rows]
    found = summaries(session, rows)
    return [MigrationView(m, found[m.id]) for m in rows]


def get_sc_content_type_managed_migration(
    session: Session, principal: Principal, type_id: str, job_id: str
) -> MigrationView:
    """One migration with its summary."""
    require(principal, READ)
    row = load_migration(session, principal.org_id, type_id, job_id)
    return MigrationView(row, summaries(session, [row])[row.id])


def _only_not_started(
    session: Session, row: ManagedMigration, action: str, values: dict[str, Any]
) -> None:
    """Change (``values``) or delete (None) a migration that has not started, in one
    statement that checks its status (a start racing with it wins or loses whole)."""
    where = and_(ManagedMigration.id == row.id, ManagedMigration.status == NOT_STARTED)
    stmt = update(ManagedMigration).where(where).values(values) if values else None
    done = session.execute(stmt if stmt is not None else delete(ManagedMigration).where(where))
    if getattr(done, "rowcount", 0) != 1:
        raise BadRequest(f"Only a managed migration job that has not started can be {action}")


def update_sc_content_type_managed_migration(
    session: Session, principal: Principal, type_id: str, job_id: str, body: UpdateBody
) -> None:
    """Replace the default values of a migration that has not started."""
    require(principal, WRITE)
    row = load_migration(session, principal.org_id, type_id, job_id)
    target = session.get(ContentTypeVersion, row.target_version_id)
    assert target is not None  # a foreign key with ON DELETE CASCADE
    defaults = migration.check_defaults(body.default_values, target.field_definitions)
    _only_not_started(session, row, "updated", {"default_values": defaults, "updated_at": utcnow()})
    session.commit()


def delete_sc_content_type_managed_migration(
    session: Session, principal: Principal, type_id: str, job_id: str
) -> None:
    """Delete a migration that has not started."""
    require(principal, WRITE)
    row = load_migration(session, principal.org_id, type_id, job_id)
    _only_not_started(session, row, "deleted", {})
    session.commit()


def start_sc_content_type_managed_migration(
    session: Session, principal: Principal, type_id: str, job_id: str
) -> ManagedMigration:
    """Start a migration that has not started or ended in error: write its work list (the
    contents on the source version; a restart retries the failed ones and adds contents
    that came since) and enqueue its job."""
    require(principal, WRITE)
    row = load_migration(session, principal.org_id, type_id, job_id)
    now = utcnow()
    started = session.execute(
        update(ManagedMigration)
        .where(ManagedMigration.id == row.id, ManagedMigration.status.in_((NOT_STARTED, ERROR)))
        .values(
            status=IN_PROGRESS,
            run=ManagedMigration.run + 1,
            error=None,
            started_at=now,
            finished_at=None,
            updated_at=now,
        )
    )
    if getattr(started, "rowcount", 0) != 1:
        raise BadRequest(
            f"No Job found for job_id: {job_id} and instance_id: {principal.org_id} "
            "with status not_started or error"
        )
    session.refresh(row)
    _fill_work_list(session, row)
    payload = {"migration_id": row.id, "run": row.run, "batch": BATCH_SIZE}
    enqueue(session, JOB, payload, org_id=row.org_id, dedupe_key=f"{row.id}:{row.run}")
    session.commit()
    return row


def _fill_work_list(session: Session, row: ManagedMigration) -> None:
    """Failed contents are tried again; contents on the source version that are not in
    the list yet are added (one INSERT ... SELECT, however many there are)."""
    item = ManagedMigrationItem
    session.execute(
        update(item)
        .where(item.migration_id == row.id, item.status == ERRORED)
        .values(status=NOT_STARTED, error=None, errors=None, updated_at=None)
    )
    on_source = select(Content.id, literal(row.id), literal(NOT_STARTED)).where(
        Content.org_id == row.org_id, Content.content_type_version_id == row.source_version_id
    )
    # Contents listed already are left alone by the conflict on the primary key, not by a
    # NOT EXISTS: planned on the list's stale statistics, the anti-join re-scanned the rows
    # being inserted for each content (29 s for 10,000 on PostgreSQL; under half a second this way).
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(item)
        .from_select(["content_id", "migration_id", "status"], on_source)
        .on_conflict_do_nothing(index_elements=["migration_id", "content_id"])
    )


# -- cmpapi's own read: the contents that failed ---------------------------------------


def list_failures(
    session: Session, principal: Principal, job_id: str, offset: int, page_size: int
) -> tuple[ManagedMigration, Page[ManagedMigrationItem]]:
    """``GET /ext/v1/structured-content/managed-migrations/{job_id}/failures``: the
    migration's contents that could not be moved, in content id order, with why (the spec's
    summary only counts them), and the migration. Admins only, as every /ext/v1 read."""
    require(principal, WRITE)
    found = Repository(ManagedMigration, session, principal.org_id).find(
        ManagedMigration.id == job_id
    )
    if found is None:
        raise NotFound(MIGRATION_NOT_FOUND.format(id=job_id))
    rows = list(
        session.scalars(
            select(ManagedMigrationItem)
            .where(
                ManagedMigrationItem.migration_id == job_id,
                ManagedMigrationItem.status == ERRORED,
            )
            .order_by(ManagedMigrationItem.content_id)
            .offset(offset)
            .limit(page_size + 1)
        )
    )
    return found, Page(rows[:page_size], offset, page_size, len(rows) > page_size)
