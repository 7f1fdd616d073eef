"""The durable job of a started managed migration (kind ``sc.managed_migration``).

It works through the migration's work list in batches of ``batch`` contents, each batch
one transaction that:

1. fences: ``UPDATE`` the migration ``WHERE run = <the job's run> AND status =
   in_progress``; no row means the migration was handed over to a newer job, finished or
   deleted, and the job stops. The update also takes the migration row's write lock, so
   batches of one migration never overlap, even when a stalled worker's job runs twice;
2. takes the next ``not_started`` items (content id order) and locks their contents;
3. moves each content that is still on the source version (``content_migration``: the
   mapping rules, default values filling, validation on the target version) with a new
   fields version, or records why it cannot (``errored``); a content that left the source
   version meanwhile is ``skipped``;
4. writes the items' outcomes and commits, with the contents' changes and their webhook
   events.

A worker killed mid-way loses at most the batch in flight (rolled back): its lease lapses,
the job runs again and resumes with the items still ``not_started``; nothing is migrated
twice. A job hands over to a fresh one (``run + 1``, same transaction) after
``SLICE_SECONDS`` or when its worker stops, so no run comes near its timeout. When no
item is left, the migration ends ``success``, or ``error`` if a content failed (start it
again to retry those).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.http.links import Links
from cmpapi.server.jobs import JobContext, enqueue, job_handler
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.structured_content import contents, migration
from cmpapi.server.resources.structured_content.content_migration import (
    fields_version_row,
    locale_of,
    moved_fields,
    record_content_modified,
)
from cmpapi.server.resources.structured_content.managed_migrations import BATCH_SIZE, JOB
from cmpapi.server.resources.structured_content.managed_tables import (
    ERROR,
    ERRORED,
    IN_PROGRESS,
    NOT_STARTED,
    SKIPPED,
    SUCCEEDED,
    SUCCESS,
    ManagedMigration,
    ManagedMigrationItem,
)
from cmpapi.server.resources.structured_content.tables import (
    Content,
    ContentFieldsVersion,
    ContentTypeVersion,
)

SLICE_SECONDS = 60.0  # a job's run before it hands over to a fresh job
ITEM = ManagedMigrationItem


class Step(Enum):
    """What a batch found: more to do, the migration finished, or not ours any more."""

    MORE = "more"
    DONE = "done"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Batch:
    """One job's view of its migration: which one, its fence, batch size, link base."""

    migration_id: str
    run: int
    size: int
    links: Links


def _fence(session: Session, batch: Batch) -> ManagedMigration | None:
    """Lock the migration if this job still runs it (see the module docstring)."""
    held = session.execute(
        update(ManagedMigration)
        .where(
            ManagedMigration.id == batch.migration_id,
            ManagedMigration.run == batch.run,
            ManagedMigration.status == IN_PROGRESS,
        )
        .values(updated_at=utcnow())
    )
    if getattr(held, "rowcount", 0) != 1:
        return None
    return session.get(ManagedMigration, batch.migration_id)


def _finish(session: Session, row: ManagedMigration) -> None:
    failed = session.scalar(
        select(ITEM.content_id).where(ITEM.migration_id == row.id, ITEM.status == ERRORED).limit(1)
    )
    row.status = ERROR if failed is not None else SUCCESS
    row.finished_at = row.updated_at = utcnow()


def run_batch(session: Session, batch: Batch) -> Step:
    """One batch in one transaction (committed here)."""
    row = _fence(session, batch)
    if row is None:
        session.rollback()
        return Step.GONE
    ids = list(
        session.scalars(
            select(ITEM.content_id)
            .where(ITEM.migration_id == row.id, ITEM.status == NOT_STARTED)
            .order_by(ITEM.content_id)
            .limit(batch.size)
        )
    )
    if not ids:
        _finish(session, row)
        session.commit()
        return Step.DONE
    outcomes = _migrate(session, row, ids, batch.links)
    if outcomes:
        session.execute(update(ManagedMigrationItem), outcomes)
    session.commit()
    return Step.MORE


def _outcome(row: ManagedMigration, content_id: str, status: str, **values: Any) -> dict[str, Any]:
    """An item's new values (every column, so the batch is one executemany)."""
    return {
        "migration_id": row.id,
        "content_id": content_id,
        "status": status,
        "error": None,
        "errors": None,
        "fields_version_id": None,
        "updated_at": utcnow(),
        **values,
    }


def _migrate(
    session: Session, row: ManagedMigration, ids: list[str], links: Links
) -> list[dict[str, Any]]:
    """Move the contents ``ids`` (locked) and return their items' new values."""
    source = session.get(ContentTypeVersion, row.source_version_id)
    target = session.get(ContentTypeVersion, row.target_version_id)
    # Foreign keys with ON DELETE CASCADE: the versions outlive the migration.
    assert source is not None
    assert target is not None
    given = migration.keyed_defaults(row.default_values)
    lookup = contents.DbLookup(session, row.org_id)
    found = session.execute(
        select(Content, ContentFieldsVersion.fields)
        .join(ContentFieldsVersion, ContentFieldsVersion.id == Content.latest_fields_version_id)
        .where(Content.id.in_(ids))
        .order_by(Content.id)
        .with_for_update(of=Content)
    ).all()
    _load_assets(session, [c.asset_id for c, _ in found if c.asset_id is not None])
    gone = set(ids) - {c.id for c, _ in found}  # deleted meanwhile: nothing to move
    outcomes = [_outcome(row, content_id, SKIPPED) for content_id in sorted(gone)]
    versions: list[dict[str, Any]] = []
    for content, stored in found:
        if content.content_type_version_id != source.id:
            outcomes.append(_outcome(row, content.id, SKIPPED))
            continue
        locale = locale_of(content.primary_locale, source)
        checked = moved_fields(
            lookup,
            content.id,
            locale,
            stored,
            source,
            target,
            given,
            fill_only=True,
            where="fields",
        )
        if checked.problems:
            errors = {p.path: p.message for p in reversed(checked.problems)}
            message = "Not valid on the target content type version"
            outcomes.append(_outcome(row, content.id, ERRORED, error=message, errors=errors))
            continue
        version = fields_version_row(content, target.id, checked.stored_fields, row.created_by)
        versions.append(version)
        content.content_type_version_id = target.id
        content.latest_fields_version_id = version["id"]
        content.updated_by, content.updated_at = row.created_by, version["created_at"]
        record_content_modified(session, links, content)
        outcomes.append(_outcome(row, content.id, SUCCEEDED, fields_version_id=version["id"]))
    if versions:
        session.execute(insert(ContentFieldsVersion), versions)
    return outcomes


def _load_assets(session: Session, ids: list[str]) -> None:
    """Load the library assets of a batch at once (their events read them one by one)."""
    if ids:
        session.scalars(select(Asset).where(Asset.id.in_(ids))).all()


def hand_over(session: Session, batch: Batch) -> None:
    """Pass the migration to a fresh job (``run + 1``) if this job still holds it."""
    row = _fence(session, batch)
    if row is None:
        session.rollback()
        return
    row.run += 1
    payload = {"migration_id": row.id, "run": row.run, "batch": batch.size}
    enqueue(session, JOB, payload, org_id=row.org_id, dedupe_key=f"{row.id}:{row.run}")
    session.commit()


def give_up(session: Session, batch: Batch, reason: str) -> None:
    """End the migration in ``error`` (the job's last attempt failed)."""
    row = _fence(session, batch)
    if row is None:
        session.rollback()
        return
    row.status, row.error = ERROR, reason[:2000]
    row.finished_at = utcnow()
    session.commit()


def _in_session(ctx: JobContext, fn: Any, batch: Batch, *args: Any) -> Any:
    with ctx.sessionmaker() as session:
        return fn(session, batch, *args)


def _api_base(ctx: JobContext) -> str:
    settings = ctx.settings
    return settings.public_base_url or f"http://{settings.host}:{settings.port}"


@job_handler(JOB, timeout=SLICE_SECONDS * 5)
async def run_managed_migration(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Work through the migration's batches until done, handed over, or stopped."""
    batch = Batch(
        str(payload["migration_id"]),
        int(payload["run"]),
        int(payload.get("batch") or BATCH_SIZE),
        Links(_api_base(ctx)),
    )
    deadline = time.monotonic() + SLICE_SECONDS
    try:
        while not ctx.lease_lost:  # lost: another worker runs this job now
            if await ctx.db.run(_in_session, ctx, run_batch, batch) is not Step.MORE:
                return
            if ctx.stopping.is_set() or time.monotonic() > deadline:
                await ctx.db.run(_in_session, ctx, hand_over, batch)
                return
    except Exception as exc:
        if ctx.attempt >= ctx.job.max_attempts:
            await ctx.db.run(_in_session, ctx, give_up, batch, f"{type(exc).__name__}: {exc}")
        raise
