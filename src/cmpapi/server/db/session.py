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

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

_HOLD = "cmpapi.hold_commits"


class UnitSession(Session):
    """The session of every unit of work (``db.engine.make_sessionmaker``)."""

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
