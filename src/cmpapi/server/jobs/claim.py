"""Claiming due jobs: one short transaction that marks them running under this worker's lease.

Fairness, in two layers:

- between kinds: the worker splits its free slots evenly over the kinds that have due jobs
  (``share_slots``), each capped by the kind's own concurrency, rotating who gets the
  remainder, so a backlog of one kind cannot take every slot;
- between organizations, inside a kind: a round first takes the oldest due job of each
  organization that has queued jobs (oldest of those first), then fills the remaining
  slots oldest-first. An organization that enqueues thousands of jobs therefore delays
  another's job by one round, not by thousands of jobs. The organizations are found with a
  skip scan (a recursive query stepping through ``ix_jobs_fair`` one organization at a
  time), so a round costs O(organizations x log(jobs)), not O(backlog): well under a
  millisecond at 50,000 queued jobs. Jobs without an organization form one more group.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` over the ranked candidates, then one
``UPDATE``, so concurrent workers take disjoint jobs without waiting for each other.
SQLite has a single writer: one ``UPDATE ... WHERE id IN (ranked) RETURNING`` per kind is
atomic, and it is the transaction's first statement, so it takes the write lock before
reading (the effect of ``BEGIN IMMEDIATE`` without a second engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Engine,
    Integer,
    Select,
    String,
    Update,
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
    update,
)

from cmpapi.server.jobs.queue import ClaimedJob
from cmpapi.server.jobs.tables import JOBS, QUEUED, RUNNING, now

MAX_ORGS = 1000  # organizations visited per round; beyond them, oldest-first still serves
# On PostgreSQL, lock up to this many times the wanted number of candidates, so a worker
# racing another for the same oldest jobs still fills its slots from the next ones.
_OVERFETCH = 4
_RETURNED = (
    JOBS.c.id,
    JOBS.c.kind,
    JOBS.c.org_id,
    JOBS.c.payload,
    JOBS.c.attempts,
    JOBS.c.max_attempts,
    JOBS.c.request_id,
)
# The statements are built once with these parameters: building the expression tree
# costs more than running the query.
_KIND = bindparam("c_kind", type_=String())
_AT = bindparam("c_at", type_=JOBS.c.run_at.type)
_LIMIT = bindparam("c_limit", type_=Integer())
_WANT = bindparam("c_want", type_=Integer())
_SET = {
    "status": RUNNING,
    "attempts": JOBS.c.attempts + 1,
    "locked_by": bindparam("c_worker", type_=String()),
    "lease_until": bindparam("c_lease", type_=JOBS.c.lease_until.type),
    "started_at": _AT,
}


def share_slots(due: Sequence[str], room: Mapping[str, int], free: int) -> dict[str, int]:
    """Split ``free`` slots over the ``due`` kinds one at a time, in order, never giving a
    kind more than its ``room``. Returns the kinds that got at least one slot."""
    given = dict.fromkeys(due, 0)
    while free > 0:
        progressed = False
        for kind in due:
            if free > 0 and given[kind] < room.get(kind, 0):
                given[kind] += 1
                free -= 1
                progressed = True
        if not progressed:
            break
    return {kind: n for kind, n in given.items() if n}


def _queued(table: Any) -> Any:
    return and_(table.c.status == QUEUED, table.c.kind == _KIND)


def _org_heads() -> Select[Any]:
    """Id of the oldest due job of each organization with queued jobs of the kind (NULL
    for an organization whose jobs are all scheduled later)."""
    first = (
        select(JOBS.c.org_id)
        .where(_queued(JOBS), JOBS.c.org_id.is_not(None))
        .order_by(JOBS.c.org_id)
        .limit(1)
        .subquery("first_org")
    )
    orgs = select(first.c.org_id, literal(1).label("depth")).cte("orgs", recursive=True)
    nxt, head = JOBS.alias("nxt"), JOBS.alias("head")
    following = (
        select(nxt.c.org_id)
        .where(_queued(nxt), nxt.c.org_id > orgs.c.org_id)
        .order_by(nxt.c.org_id)
        .limit(1)
        .scalar_subquery()
    )
    orgs = orgs.union_all(
        select(following, orgs.c.depth + 1).where(
            orgs.c.org_id.is_not(None), orgs.c.depth < MAX_ORGS
        )
    )
    oldest = (
        select(head.c.id)
        .where(_queued(head), head.c.org_id == orgs.c.org_id, head.c.run_at <= _AT)
        .order_by(head.c.run_at)
        .limit(1)
        .scalar_subquery()
    )
    return select(oldest.label("id")).where(orgs.c.org_id.is_not(None))


def _ranked(limit: Any) -> Select[Any]:
    """The first ``limit`` due jobs of the kind in claim order: organizations' oldest jobs
    (``prio`` 0), then the oldest of the rest (``prio`` 1). Columns ``id``, ``prio``,
    ``run_at``."""
    due = and_(_queued(JOBS), JOBS.c.run_at <= _AT)
    heads = _org_heads().subquery("heads")
    no_org = select(JOBS.c.id).where(due, JOBS.c.org_id.is_(None)).order_by(JOBS.c.run_at)
    fill = select(JOBS.c.id).where(due).order_by(JOBS.c.run_at).limit(limit)
    chosen = union_all(
        select(heads.c.id, literal(0).label("prio")),
        select(no_org.limit(1).subquery().c.id, literal(0)),
        select(fill.subquery().c.id, literal(1)),
    ).subquery("chosen")
    prio = func.min(chosen.c.prio).label("prio")
    return (
        select(JOBS.c.id, prio, JOBS.c.run_at)
        .join(chosen, chosen.c.id == JOBS.c.id)
        .group_by(JOBS.c.id, JOBS.c.run_at)
        .order_by(prio, JOBS.c.run_at)
        .limit(limit)
    )


@cache
def _postgres_lock() -> Select[Any]:
    """Lock up to ``c_want`` of the ranked candidates nobody else has locked."""
    candidates = _ranked(_LIMIT).subquery("candidates")
    return (
        select(JOBS.c.id)
        .join(candidates, candidates.c.id == JOBS.c.id)
        .where(JOBS.c.status == QUEUED)
        .order_by(candidates.c.prio, candidates.c.run_at)
        .limit(_WANT)
        .with_for_update(skip_locked=True, of=JOBS)
    )


@cache
def _postgres_take() -> Update:
    ids: BindParameter[str] = bindparam("c_ids", expanding=True)
    return update(JOBS).where(JOBS.c.id.in_(ids)).values(_SET).returning(*_RETURNED)


@cache
def _sqlite_take() -> Update:
    picked = _ranked(_WANT).subquery("picked")
    stmt = update(JOBS).where(JOBS.c.id.in_(select(picked.c.id))).values(_SET)
    return stmt.returning(*_RETURNED)


def claim(
    engine: Engine, worker_id: str, slots: Mapping[str, int], lease_seconds: float
) -> list[ClaimedJob]:
    """Claim up to ``slots[kind]`` due jobs of each kind for ``worker_id``; counts the
    attempt and leases each job for ``lease_seconds``."""
    at = now()
    params: dict[str, Any] = {
        "c_at": at,
        "c_worker": worker_id,
        "c_lease": at + timedelta(seconds=lease_seconds),
    }
    rows: list[Any] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            ids: list[str] = []
            for kind, n in slots.items():
                want = {"c_kind": kind, "c_want": n, "c_limit": n * _OVERFETCH}
                ids.extend(conn.execute(_postgres_lock(), params | want).scalars())
            if ids:
                rows.extend(conn.execute(_postgres_take(), params | {"c_ids": ids}))
        else:
            for kind, n in slots.items():
                want = {"c_kind": kind, "c_want": n}
                rows.extend(conn.execute(_sqlite_take(), params | want))
    return [ClaimedJob(**row._mapping) for row in rows]
