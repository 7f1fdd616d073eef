"""Substring search of titles through a trigram index, on both databases.

``title LIKE '%sunset%'`` reads every row: 0.3 s at 100,000 assets and 4.5 s at 1,000,000
for a term that matches nothing (bench/README.md, "Scaling"). Migration 9d2f6b4c1e07 gives
each table of ``INDEXED`` a trigram index of its title:

- PostgreSQL: a GIN index with ``pg_trgm``'s ``gin_trgm_ops``, which ``ILIKE`` uses as it is
  (the planner weighs it against walking the page order with its statistics).
- SQLite: an FTS5 table ``<table>_search`` (``tokenize='trigram'``) over the table's
  rowid, kept by triggers. SQLite cannot tell how many rows an FTS5 LIKE returns and
  walked the whole page-order index probing them (60 ms at 100,000 rows for a term that
  matched nothing), so the matching rowids are read first: up to ``FEW`` of them become
  the condition (a lookup per match, none for no match); more than that, and walking the
  page order finds a page quickly. FTS5 answers LIKE from the index only without an ESCAPE
  clause, which is added only when the text holds ``%``, ``_`` or ``\\``. (The index
  follows the implicit rowid, which VACUUM may renumber: after a VACUUM, rebuild it with
  ``INSERT INTO <table>_search(<table>_search) VALUES('rebuild')``.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import QueryableAttribute, Session

from cmpapi.server.db.repository import contains_text

# Tables whose ``title`` has a trigram index (the migration creates them).
INDEXED = ("library_assets", "tasks")


FEW = 5_000


def title_contains(
    session: Session, column: QueryableAttribute[Any], text: str
) -> ColumnElement[bool]:
    """``column`` (a ``title`` of an ``INDEXED`` table) contains ``text``, case-insensitively
    for ASCII as LIKE is, through the table's trigram index."""
    table = column.expression.table
    if session.get_bind().dialect.name != "sqlite" or table.name not in INDEXED:
        return contains_text(column, text)
    escaped = any(c in text for c in "\\%_")
    if escaped:
        text = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    search = sql_table(f"{table.name}_search", sql_column("rowid"), sql_column("title"))
    title = search.c.title
    like = title.like(f"%{text}%", escape="\\") if escaped else title.like(f"%{text}%")
    matches = select(search.c.rowid).where(like)
    rowids = session.scalars(matches.limit(FEW + 1)).all()
    rowid: ColumnElement[Any] = literal_column(f"{table.name}.rowid")
    if len(rowids) <= FEW:
        return rowid.in_(rowids)
    return rowid.in_(matches)


def outside_models(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    """Alembic ``include_object``: False for the search indexes, which the models do not
    declare (an FTS5 table is not a table SQLAlchemy can describe; the GIN index needs an
    extension): autogenerate must neither drop them nor report them."""
    if type_ == "table" and name and any(name.startswith(f"{t}_search") for t in INDEXED):
        return False
    return not (type_ == "index" and name and name.endswith("_title_trgm"))
