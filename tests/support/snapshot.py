"""``db_snapshot``: every row of every table, so a test can say "a refused request changed
nothing" without knowing which tables the operation touches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.tables import Base

Snapshot = dict[str, list[tuple[Any, ...]]]
TABLES = Base.metadata.sorted_tables


def db_snapshot(db: Session) -> Snapshot:
    """The rows of every table, in a stable order. Read on a connection of its own: the
    test's session may hold an older read transaction (SQLite WAL keeps its snapshot)."""
    tables: Snapshot = {}
    with db.get_bind().connect() as conn:
        for table in TABLES:
            rows = [tuple(row) for row in conn.execute(select(table))]
            tables[table.name] = sorted(rows, key=repr)
    return tables


def row_counts(db: Session) -> tuple[int, ...]:
    """The number of rows of every table, in one query: a cheap check between two full
    snapshots (it misses updates in place, which the full snapshot then catches)."""
    counts = [select(func.count()).select_from(t).scalar_subquery() for t in TABLES]
    with db.get_bind().connect() as conn:
        return tuple(conn.execute(select(*counts)).one())


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    """Per changed table, the rows that went away and the rows that appeared."""
    diff: dict[str, dict[str, list[Any]]] = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name, []), after.get(name, [])
        if old != new:
            diff[name] = {
                "removed": [row for row in old if row not in new],
                "added": [row for row in new if row not in old],
            }
    return diff


def assert_unchanged(before: Snapshot, db: Session, what: str) -> None:
    """Fail, naming the request and the changed rows, when the database differs."""
    diff = changes(before, db_snapshot(db))
    assert not diff, f"{what} changed the database: {diff}"


class Unchanged:
    """Watches the database across a series of refused requests: ``after(what)`` after
    each (row counts, one query; the full diff when they moved), ``finally_(what)`` once at
    the end (every row, so updates in place are caught too)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.before = db_snapshot(db)
        self.counts = row_counts(db)

    def after(self, what: str) -> None:
        if row_counts(self.db) != self.counts:
            assert_unchanged(self.before, self.db, what)

    def finally_(self, what: str) -> None:
        assert_unchanged(self.before, self.db, what)
