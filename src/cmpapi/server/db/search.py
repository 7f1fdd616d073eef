"""Substring search of titles through a trigram index, on both databases.

``title LIKE '%sunset%'`` reads every row: 0.3 s at 100,000 assets and 4.5 s at 1,000,000
for a term that matches nothing (bench/README.md, "Scaling"). Migration 9d2f6b4c1e07 gives
each table of ``INDEXED`` a trigram index of its title:

- PostgreSQL: a GIN index with ``pg_trgm``'s ``gin_trgm_ops``, which ``ILIKE`` uses as it is
  (the planner weighs it against walking the page order with its statistics).
- SQLite: an FTS5 table ``<table>_search`` (``tokenize='trigram'``) over the table's
  rowid, kept by triggers. A text of three characters or more is a phrase of its
  trigrams (``MATCH '"text"'``), which the index answers alone, folding case as
  PostgreSQL's ILIKE does (letters outside ASCII too); ``LIKE`` read every candidate's
  title from the table (35 ms for 5,000 matches of 100,000). Shorter texts have no
  trigram and keep ``LIKE``. SQLite cannot tell how many rows a MATCH returns, so the
  matches are counted first (``TitleMatch``): up to ``FEW`` become a list of rowids, more
  a subquery; ``TitleMatch.seek`` tells a caller whether a page is cheaper from the
  matches sorted or from a walk of the page order (a common word's first pages). A
  count of the matches (``total_count``) reads each match: O(matches). (The index follows
  the implicit rowid, which VACUUM may renumber: after a VACUUM, rebuild it with
  ``INSERT INTO <table>_search(<table>_search) VALUES('rebuild')``.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.expression import TableClause

from cmpapi.server.db.repository import Page, contains_pattern, contains_text

# Tables whose ``title`` has a trigram index (the migration creates them).
INDEXED = ("library_assets", "tasks")


FEW = 100  # matches bound as a list: SQLite then knows it is short and seeks each
SEEK_COST = 10  # a seek and its share of the sort, in page-order index steps (measured)
# A row's title read and LIKE against a set probe, ~1.75 / 0.35 µs, and the set ~0.18 µs
# a match (1,000,000 rows): the title test wins while the walk passes fewer rows than
# matches / 8, that is above ~9 times SEEK's turn in matches (sqrt(78 * depth * rows)).
PROBE_TURN = 9
SEEK, WALK, PROBE = "seek", "walk", "probe"
TRIGRAM = 3


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """A title condition; on SQLite also the matching rowids (a query on the search table)
    and, when there are ``FEW`` at most, how many."""

    condition: ColumnElement[bool]
    matches: Select[Any] | None = None
    few: int | None = None
    probe: ColumnElement[bool] | None = None  # ``walking``'s form of the condition

    def seek(self, session: Session, rows: int, depth: int) -> bool:
        """Whether the page is read from the matches, sorted (``plan`` is SEEK)."""
        return self.plan(session, rows, depth) == SEEK

    def plan(self, session: Session, rows: int, depth: int) -> str:
        """How a page ``depth`` rows deep (offset + page) of a table of ``rows`` rows is
        cheapest to read:

        - SEEK: every match read and sorted, ``SEEK_COST * matches`` (a rare word, or a
          deep page: a word in 100 titles of 100,000 walked them all, 28 ms);
        - WALK: the page order walked, each row tested against the set of the matches,
          ``depth * rows / matches`` rows plus the set's O(matches) (a common word's deep
          page);
        - PROBE: the page order walked, each row tested on its own title (``walking``):
          no set, but a title read per row; cheaper than WALK when the walk is short
          against the matches, at ``PROBE_TURN`` times SEEK's turn (a common word's first
          page: 1,000,000 titles, 50,000 matches, 22 -> 14 ms; listTasks 12.6 -> 3.4 ms).

        The matches are counted only up to where the choice turns (~9,000 for a first
        page of 1,000,000 rows; a full count of 50,000 took 5-16 ms)."""
        if self.matches is None:
            return WALK
        turn = math.isqrt(depth * rows // SEEK_COST) + 1  # seek below that many matches
        if self.few is not None:
            return SEEK if self.few < turn else WALK
        probe_turn = PROBE_TURN * turn if self.probe is not None else turn
        counted = select(func.count()).select_from(self.matches.limit(probe_turn).subquery())
        found = int(session.scalar(counted) or 0)
        if found < turn:
            return SEEK
        return PROBE if found >= probe_turn and self.probe is not None else WALK

    def walking(self, where: list[ColumnElement[bool]], plan: str) -> list[ColumnElement[bool]]:
        """``where`` for a walk of the page order by ``plan``: with PROBE, the condition as
        a test of each walked row's title (``_probe``)."""
        if plan != PROBE or self.probe is None:
            return where
        return [self.probe if c is self.condition else c for c in where]

    def count(self, session: Session, others: Select[Any] | None) -> int | None:
        """How many matches, read from the search index: every match but the rows of
        ``others`` (a select of the table's rowids the caller does not see, which SQLite
        reads once into a set; None: no such row). None when the index cannot say (no
        index, or ``FEW`` matches: the caller's count then seeks them in the table). A
        count through the table seeks each match there: a common word in 1,000,000 titles,
        50,000 matches, 60-83 ms; from the index 5-8 ms."""
        if self.matches is None or self.few is not None:
            return None
        matches = self.matches
        if others is not None:
            matches = matches.where(matches.selected_columns[0].not_in(others))
        counted = select(func.count()).select_from(matches.subquery())
        return int(session.scalar(counted) or 0)


def title_contains(
    session: Session, column: QueryableAttribute[Any], text: str
) -> ColumnElement[bool]:
    """``column`` (a ``title`` of an ``INDEXED`` table) contains ``text``, case-insensitively,
    through the table's trigram index."""
    return title_match(session, column, text).condition


def title_match(session: Session, column: QueryableAttribute[Any], text: str) -> TitleMatch:
    """``title_contains``, and on SQLite the matches (see ``TitleMatch.seek``)."""
    table = column.expression.table
    if session.get_bind().dialect.name != "sqlite" or table.name not in INDEXED:
        return TitleMatch(contains_text(column, text))
    name = f"{table.name}_search"
    search = sql_table(name, sql_column("rowid"), sql_column("title"), sql_column(name))
    matches = select(search.c.rowid).where(_matching(search, name, text))
    rowids = session.scalars(matches.limit(FEW + 1)).all()
    rowid: ColumnElement[Any] = literal_column(f"{table.name}.rowid")
    if len(rowids) <= FEW:
        return TitleMatch(rowid.in_(rowids), matches, len(rowids))
    # More: a subquery, which SQLite reads once into a set per statement.
    condition = rowid.in_(matches)
    return TitleMatch(condition, matches, probe=_probe(column, text, condition))


# A title of printable ASCII only (GLOB: a character outside space..tilde is not).
NOT_ASCII = "*[^ -~]*"


def _probe(
    column: QueryableAttribute[Any], text: str, condition: ColumnElement[bool]
) -> ColumnElement[bool] | None:
    """A walk's test of one row, for a common word: the set of every match (``condition``)
    cost O(matches) to build before the first row (50,000 rowids at 1,000,000 titles,
    ~9 ms, for a first page that walks ~200 rows); probing FTS5 row by row cost ~130 µs
    a row. For an ASCII title and an ASCII text, LIKE gives the trigram index's answer:
    a phrase of trigrams is a substring, and both fold ASCII case alone. Other titles
    use the set, which SQLite then builds only if the walk meets one. None for a text
    outside printable ASCII (its letters may fold onto ASCII ones: KELVIN SIGN -> k)."""
    if not text.isascii() or not text.isprintable():
        return None
    pattern = contains_pattern(text)
    by_like = column.like(pattern, escape="\\")
    return case((column.op("GLOB")(NOT_ASCII), condition), else_=by_like)


def unindexed(column: QueryableAttribute[Any]) -> ColumnElement[Any]:
    """``column`` as an expression no index serves (SQLite's unary ``+``, which changes no
    value): with the organization and the order so written, SQLite seeks the matches by
    rowid and sorts them, where it walked the organization's page-order index probing
    each entry (it has no statistics to tell that the matches are fewer)."""
    table = column.expression.table
    return literal_column(f"+{table.name}.{column.key}")


def sorted_matches(
    session: Session,
    columns: Sequence[Any],
    model: Any,
    org_id: str,
    where: Sequence[ColumnElement[bool]],
    offset: int,
    size: int,
    params: Mapping[str, Any] | None = None,
) -> Page[Any]:
    """A search's page from its matches, sorted (``TitleMatch.plan`` chose SEEK): newest
    change first, rows of ``columns`` of ``model`` (a table with ``id``, ``org_id`` and
    ``modified_at``). The organization and the order are written so that no index serves
    them (``unindexed``): SQLite then seeks the matching rowids and sorts them, instead of
    walking the organization's page order and probing each entry."""
    ids = (
        select(model.id)
        .where(unindexed(model.org_id) == org_id, *where)
        .order_by(unindexed(model.modified_at).desc(), model.id.desc())
        .offset(offset)
        .limit(size + 1)
    )
    stmt = select(*columns).where(model.id.in_(ids))
    order = (model.modified_at.desc(), model.id.desc())
    rows = session.execute(stmt.order_by(*order), dict(params or {})).all()
    return Page(rows[:size], offset, size, len(rows) > size)


def _matching(search: TableClause, name: str, text: str) -> ColumnElement[bool]:
    """The search table's rows whose title contains ``text``. Three characters or more: a
    phrase of the text's trigrams, which the index answers alone (5,000 matches of
    100,000 titles: 1 ms, where LIKE read every candidate's title from the table: 35 ms).
    Shorter: LIKE, which has no trigram to seek and reads every title."""
    if len(text) >= TRIGRAM:
        return search.c[name].bool_op("MATCH")('"' + text.replace('"', '""') + '"')
    title = search.c.title
    # FTS5 answers LIKE from the index only without an ESCAPE clause: added only if needed.
    if any(c in text for c in "\\%_"):
        text = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return title.like(f"%{text}%", escape="\\")
    return title.like(f"%{text}%")


def outside_models(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    """Alembic ``include_object``: False for the search indexes, which the models do not
    declare (an FTS5 table is not a table SQLAlchemy can describe; the GIN index needs an
    extension): autogenerate must neither drop them nor report them."""
    if type_ == "table" and name and any(name.startswith(f"{t}_search") for t in INDEXED):
        return False
    return not (type_ == "index" and name and name.endswith("_title_trgm"))
