"""What starts deliveries: a durable job in the transaction that records events, plus
fast wake-ups of engines already running.

- Every transaction that adds an outbox event (``record_event``) also enqueues one
  ``webhooks.dispatch`` job (the same listener for every session, registered when this
  package is imported, which ``db/tables.py`` does). The job exists if and only if the
  events commit, so no event waits for a poll that may never come; a worker runs the
  delivery engine for it (``engine.py``).
- After such a commit, engines in this process are woken at once; on PostgreSQL the
  transaction also sends ``NOTIFY cmpapi_webhooks``, which wakes engines in other processes.
  These wake-ups are only for latency: a running engine also polls.

Code that inserts outbox rows with Core statements (bypassing the session) calls
``request_dispatch(session)`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, event, select, text
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.jobs import enqueue
from cmpapi.server.jobs.tables import JOBS, QUEUED, now

log = logging.getLogger("cmpapi.webhooks")

DISPATCH = "webhooks.dispatch"
CHANNEL = "cmpapi_webhooks"
# A dispatch job is retried after a crash or an error; it must outlive a few of them.
MAX_ATTEMPTS = 25
_FLAG = "cmpapi.webhooks.dispatch"  # session.info: this transaction enqueued a dispatch
_WAKERS: set[Callable[[], None]] = set()


def request_dispatch(session: Session, why: str = "events", run_at: datetime | None = None) -> None:
    """Enqueue a delivery run in the caller's transaction (at ``run_at``, default now);
    engines of this and other processes are woken when it commits."""
    enqueue(session, DISPATCH, {"why": why}, run_at=run_at, max_attempts=MAX_ATTEMPTS)
    session.info[_FLAG] = True


def schedule_dispatch(engine: Engine, why: str, run_at: datetime | None = None) -> None:
    """``request_dispatch`` in a transaction of its own."""
    with Session(engine) as session:
        request_dispatch(session, why, run_at)
        session.commit()


def drop_redundant(engine: Engine, older_than: float) -> int:
    """Delete queued dispatch jobs that have been due for ``older_than`` seconds: a running
    engine does their work (it looks at the outbox and the queue after this), and an idle
    worker had time to take one and run a second engine. Deleted, not cancelled: a busy
    deployment enqueues one per event transaction, and they carry nothing worth keeping.
    Returns how many."""
    cutoff = now() - timedelta(seconds=older_than)
    due = (JOBS.c.kind == DISPATCH, JOBS.c.status == QUEUED, JOBS.c.run_at <= cutoff)
    with engine.connect() as conn:  # read-only probe: no SQLite write lock for nothing
        if conn.execute(select(JOBS.c.id).where(*due).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        return conn.execute(delete(JOBS).where(*due)).rowcount


def _records_events(session: Session) -> bool:
    return any(isinstance(obj, OutboxEvent) for obj in session.new)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if not session.info.get(_FLAG) and _records_events(session):
        request_dispatch(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not session.info.get(_FLAG):
        if not _records_events(session):
            return
        request_dispatch(session)
    if session.get_bind().dialect.name == "postgresql":
        # Transactional: delivered to listeners when (and only if) this commit succeeds.
        session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        for wake in list(_WAKERS):
            wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)


def add_waker(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from any thread) after this process commits events."""
    _WAKERS.add(callback)


def remove_waker(callback: Callable[[], None]) -> None:
    """Stop calling ``callback``."""
    _WAKERS.discard(callback)


async def listen(engine: Engine, wake: Callable[[], None], stop: asyncio.Event) -> None:
    """On PostgreSQL, call ``wake`` for every ``NOTIFY cmpapi_webhooks`` until ``stop`` is
    set (reconnecting after errors); elsewhere return at once. Not meant to be cancelled:
    it notices ``stop`` within a quarter of a second and closes its connection itself."""
    if engine.dialect.name != "postgresql":
        return
    import psycopg

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                wake()  # events committed before LISTEN took effect
                while not stop.is_set():
                    async for _notice in conn.notifies(timeout=0.25):
                        wake()
        except (psycopg.Error, OSError) as exc:
            log.warning("webhooks: LISTEN connection lost (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
