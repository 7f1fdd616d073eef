"""``UnitSession``: a session whose commit an API request can hold back until its answer
is built (DESIGN §5.18).

Services commit what they change. When a request asks for it (``hold_commits``), a
service's ``commit()`` only flushes: the rows are written in the open transaction, and
rules that the database checks (unique keys, foreign keys) fail where they did before.
The request then builds its answer from the result (mapping, wire model validation, JSON)
and commits for real with ``commit_held``; if building the answer fails, the transaction
rolls back when the session closes and nothing was stored that could not be answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.db.runner import running_inline

_HOLD = "cmpapi.hold_commits"


class UnitSession(Session):
    """The session of every unit of work (``db.engine.make_sessionmaker``)."""

    def close(self) -> None:
        # A unit that never used the session (a prepared read on the loop's connection,
        # ``Repository.rows``) has nothing to end or let go of: closing it anyway cost ~5 %
        # of a small list request.
        if self.in_transaction() or self.identity_map or self.new or self.deleted:
            super().close()

    def commit(self) -> None:
        if self.info.get(_HOLD):
            self.flush()
            return
        super().commit()

    def hold_commits(self) -> None:
        """From now on ``commit()`` flushes; ``commit_held()`` commits."""
        self.info[_HOLD] = True

    def commit_held(self) -> None:
        """Commit what the held commits flushed (and anything flushed since)."""
        self.info[_HOLD] = False
        super().commit()


@contextmanager
def one_unit(session: Session) -> Iterator[None]:
    """Several services' writes as one transaction: inside the block their commits only
    flush; the block's end commits (or, under ``Api.answer``'s hold, the answer does).
    An error leaves the transaction to roll back with the session."""
    if not isinstance(session, UnitSession) or session.info.get(_HOLD):
        yield
        return
    session.hold_commits()
    try:
        yield
    except BaseException:
        session.info[_HOLD] = False
        raise
    session.commit_held()


class UnitSessions:
    """The session of each request's unit of work (``http/deps.py``).

    An inline unit (SQLite: on the event loop, one at a time) gets a session on one
    connection the loop keeps checked out; units in worker threads get pooled ones. Checking
    a connection out of the pool and back in (its events, the reset's rollback) cost ~40 µs
    of a ~390 µs listUsers request (bench/README.md, "Third pass"). Nothing else changes: the
    session begins and ends its transaction on it, and commits or rolls back as before.

    The connection belongs to the first thread that asks (the loop's); a unit inline on
    another thread's loop (a second TestClient) uses the pool. ``close`` returns it.
    """

    def __init__(self, engine: Engine, make_session: sessionmaker[Session]) -> None:
        self._engine = engine
        self._make_session = make_session
        self._conn: Connection | None = None
        self._owner: int | None = None

    def __call__(self) -> Session:
        if running_inline():
            conn = self._loop_connection()
            if conn is not None:
                return self._make_session(bind=conn)
        return self._make_session()

    def _loop_connection(self) -> Connection | None:
        thread = threading.get_ident()
        if self._owner is None:
            self._owner = thread
        elif self._owner != thread:
            return None
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                conn.close()
            conn = self._conn = self._engine.connect()
        elif conn.in_transaction():  # a session joining an open transaction would not end it
            conn.rollback()
        return conn

    def close(self) -> None:
        """Return the loop's connection to the pool (the app stops)."""
        conn, self._conn, self._owner = self._conn, None, None
        if conn is not None:
            conn.close()
