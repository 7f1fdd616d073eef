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

import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.http.links import Links
from cmpapi.server.jobs import JobContext, enqueue, job_handler
from cmpapi.server.resources.structured_content import contents, migration
from cmpapi.server.resources.structured_content.content_migration import (
    fields_version_row,
    locale_of,
    moved_fields,
    record_moved,
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
from cmpapi.server.resources.structured_content.validation import Checked

SLICE_SECONDS = 60.0  # a job's run before it hands over to a fresh job
log = logging.getLogger("cmpapi.jobs")
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
    """Nothing left to do: ``error`` if a content failed, else ``success``."""
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one batch works with: the versions, the default values, reference lookups."""

    row: ManagedMigration
    source: ContentTypeVersion
    target: ContentTypeVersion
    given: dict[str, Any]
    lookup: contents.DbLookup


def _plan(session: Session, row: ManagedMigration) -> _Plan:
    source = session.get(ContentTypeVersion, row.source_version_id)
    target = session.get(ContentTypeVersion, row.target_version_id)
    # Foreign keys with ON DELETE CASCADE: the versions outlive the migration.
    assert source is not None
    assert target is not None
    given = migration.keyed_defaults(row.default_values)
    return _Plan(row, source, target, given, contents.DbLookup(session, row.org_id))


def _check(plan: _Plan, content: Any, stored: Any) -> Checked | None:
    """The content's fields mapped onto the target and checked there; None when its
    stored fields cannot be read at all."""
    try:
        return moved_fields(
            plan.lookup,
            content.id,
            locale_of(content.primary_locale, plan.source),
            stored,
            plan.source,
            plan.target,
            plan.given,
            fill_only=True,
            where="fields",
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        # Stored fields the rules cannot read (written by hand, or by a bug): this content
        # fails, the others go on. Database errors are not caught: the batch is retried.
        log.warning(
            "managed migration %s: content %s unreadable", plan.row.id, content.id, exc_info=True
        )
        return None


def _move_one(
    plan: _Plan, content: Any, stored: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One content's item outcome, and its new fields version when it moves."""
    row = plan.row
    if content.content_type_version_id != plan.source.id:
        return _outcome(row, content.id, SKIPPED), None
    checked = _check(plan, content, stored)
    if checked is None:
        message = "The content's stored fields could not be read"
        return _outcome(row, content.id, ERRORED, error=message, errors={}), None
    if checked.problems:
        errors = {p.path: p.message for p in reversed(checked.problems)}
        message = "Not valid on the target content type version"
        return _outcome(row, content.id, ERRORED, error=message, errors=errors), None
    version = fields_version_row(
        row.org_id, content.id, plan.target.id, checked.stored_fields, row.created_by
    )
    return _outcome(row, content.id, SUCCEEDED, fields_version_id=version["id"]), version


def _migrate(
    session: Session, row: ManagedMigration, ids: list[str], links: Links
) -> list[dict[str, Any]]:
    """Move the contents ``ids`` (locked) and return their items' new values. The rows are
    read and written in bulk (a batch is a few statements, not a few per content)."""
    plan = _plan(session, row)
    found = session.execute(
        select(
            Content.id,
            Content.asset_id,
            Content.task_id,
            Content.content_type_version_id,
            Content.primary_locale,
            ContentFieldsVersion.fields,
        )
        .join(ContentFieldsVersion, ContentFieldsVersion.id == Content.latest_fields_version_id)
        .where(Content.id.in_(ids))
        .order_by(Content.id)
        .with_for_update(of=Content)
    ).all()
    gone = set(ids) - {c.id for c in found}  # deleted meanwhile: nothing to move
    outcomes = [_outcome(row, content_id, SKIPPED) for content_id in sorted(gone)]
    versions: list[dict[str, Any]] = []
    moved: list[Any] = []
    for content in found:
        outcome, version = _move_one(plan, content, content.fields)
        outcomes.append(outcome)
        if version is not None:
            versions.append(version)
            moved.append(content)
    if versions:
        _write(session, plan, moved, versions, links)
    return outcomes


def _write(
    session: Session, plan: _Plan, moved: list[Any], versions: list[dict[str, Any]], links: Links
) -> None:
    """The moved contents' new fields versions, the contents on the target version, and
    their events: a few statements for the whole batch."""
    session.execute(insert(ContentFieldsVersion), versions)
    changes = [
        {
            "id": content.id,
            "content_type_version_id": plan.target.id,
            "latest_fields_version_id": version["id"],
            "updated_by": plan.row.created_by,
            "updated_at": version["created_at"],
        }
        for content, version in zip(moved, versions, strict=True)
    ]
    session.execute(update(Content), changes)
    record_moved(session, links, moved)


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
        # Renewing the lease after each batch, from this thread, keeps it while batches
        # follow each other closely: on SQLite the worker's own renewal may wait behind
        # them for the write lock until the lease lapses. False: another worker runs the
        # job now (its batches are fenced off from ours anyway).
        while await ctx.heartbeat():
            if await ctx.db.run(_in_session, ctx, run_batch, batch) is not Step.MORE:
                return
            if ctx.stopping.is_set() or time.monotonic() > deadline:
                await ctx.db.run(_in_session, ctx, hand_over, batch)
                return
    except Exception as exc:
        if ctx.attempt >= ctx.job.max_attempts:
            await ctx.db.run(_in_session, ctx, give_up, batch, f"{type(exc).__name__}: {exc}")
        raise
