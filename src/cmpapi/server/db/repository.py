"""One generic repository: get, list (+ count) with filters and offset/page_size, add,
update, delete. Every query is scoped to one organization.

Per-resource code declares only what is unusual (extra filters, default order); the
rest is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from cmpapi.server.db.prepared import Prepared, prepare
from cmpapi.server.errors import NotFound

M = TypeVar("M")
# Statements of ``rows`` by their parts; bounded by the number of call sites.
_ROWS_CACHE: dict[tuple[Any, ...], _Rows] = {}
_ROWS_CACHE_MAX = 512
OrderBy = ColumnElement[Any] | UnaryExpression[Any] | QueryableAttribute[Any]


@dataclass(slots=True)
class _Rows:
    """A cached ``rows`` statement: the parts it is keyed by (kept alive), the statement,
    and its prepared form per dialect (None: not preparable)."""

    parts: tuple[Any, ...]
    stmt: Select[Any]
    prepared: dict[str, Prepared | None]


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    """One page of rows; ``has_next`` comes from fetching one row more than asked."""

    items: Sequence[M]
    offset: int
    page_size: int
    has_next: bool
    total: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def _tiebreak(order_by: list[Any], id_column: Any) -> Any:
    """``id`` breaks ties in the direction of the first sort key: an index on
    ``(org_id, key, id)`` then serves the whole order without a sort step (a descending key
    with an ascending id made SQLite sort 50,000 rows for a page at offset 50,000)."""
    first = order_by[0] if order_by else None
    descending = getattr(first, "modifier", None) is operators.desc_op
    return id_column.desc() if descending else id_column


@dataclass(slots=True)
class Filters:
    """The conditions a list request chose and the values they bind: ``Repository.rows``'
    ``*where`` and ``params``. A condition is added with its values, so neither is left
    without the other."""

    where: list[ColumnElement[bool]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, condition: ColumnElement[bool], **values: Any) -> None:
        self.where.append(condition)
        self.values.update(values)


class Repository(Generic[M]):
    """CRUD for one org-scoped table. ``model`` must have ``id`` and ``org_id`` columns."""

    def __init__(self, model: type[M], session: Session, org_id: str) -> None:
        self.model = model
        self.session = session
        self.org_id = org_id
        self._cols: Any = model  # typed access to columns of a generic model

    def _scoped(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.where(self._cols.org_id == bindparam("scope_org_id", self.org_id))

    def get(self, id_: str) -> M:
        """The row with this id in the organization, or NotFound."""
        row: M | None = self.session.scalars(
            self._scoped(select(self.model)).where(self._cols.id == id_)
        ).one_or_none()
        if row is None:
            raise NotFound()
        return row

    def find(self, *where: ColumnElement[bool]) -> M | None:
        """The first row matching the conditions, or None."""
        return self.session.scalars(self._scoped(select(self.model)).where(*where).limit(1)).first()

    def list(
        self,
        *where: ColumnElement[bool],
        order_by: Iterable[OrderBy] = (),
        offset: int = 0,
        page_size: int = 10,
        with_total: bool = False,
    ) -> Page[M]:
        """A page of matching rows in a stable order (``id`` breaks ties)."""
        order = list(order_by)
        order = [*order, _tiebreak(order, self._cols.id)]
        stmt = self._scoped(select(self.model)).where(*where).order_by(*order)
        if offset:
            # Deferred join: the skipped rows are walked in an index that covers the order
            # and the usual filters, and only the page's rows are read (PostgreSQL, 50,000
            # deep: 145 -> 18 ms; bench/README.md).
            ids = self._scoped(select(self._cols.id)).where(*where).order_by(*order)
            ids = ids.offset(offset).limit(page_size + 1)
            # The ids are the organization's already. Scoping the outer query too let
            # SQLite (without ANALYZE statistics, as a served database is) walk the org's
            # page-order index checking each row against the id list, instead of looking
            # the 11 ids up: 100,000 assets at offset 10,000, 22 -> 1-2 ms.
            stmt = select(self.model).where(self._cols.id.in_(ids)).order_by(*order)
        else:
            stmt = stmt.limit(page_size + 1)
        rows = list(self.session.scalars(stmt))
        total = self.count(*where) if with_total else None
        return Page(rows[:page_size], offset, page_size, len(rows) > page_size, total)

    def rows(
        self,
        columns: Sequence[QueryableAttribute[Any]],
        *where: ColumnElement[bool],
        order_by: Iterable[OrderBy] = (),
        offset: int = 0,
        page_size: int = 10,
        params: Mapping[str, Any] | None = None,
        cache: bool = True,
    ) -> Page[Any]:
        """Like ``list`` but returns plain rows of the given columns (named tuples), for
        read-only pages: the statement is built once and run prepared (``db/prepared.py``).

        Loading ORM objects costs ~3x the SQL itself (294 vs 108 µs for 11 users, measured);
        list endpoints read only the columns they map. The built statement is cached by
        the identity of its parts: conditions must be module-level (or memoized) clauses
        whose per-request values are named ``bindparam``s given in ``params``. A condition
        built per request with its values inside (a title search's rowids) goes with
        ``cache=False``: the statement is then built for the call and executed as usual
        (SQLAlchemy's compiled cache still matches its structure).

        A page at an offset reads the skipped rows' ids only (the deferred join of
        ``list``), then the page's columns by id.
        """
        parts = (tuple(columns), where, tuple(order_by), offset > 0)
        values = {"scope_org_id": self.org_id, "page_offset": offset, "page_limit": page_size + 1}
        if params:
            values.update(params)
        conn = _connection(self.session)
        if not cache:
            found: Sequence[Any] = conn.execute(self._rows_select(*parts), values).all()
        else:
            found = _run(conn, self._rows_statement(*parts), values)
        return Page(found[:page_size], offset, page_size, len(found) > page_size)

    def _rows_select(
        self,
        columns: tuple[Any, ...],
        where: tuple[Any, ...],
        order_by: tuple[Any, ...],
        deferred: bool,
    ) -> Select[Any]:
        order = [*order_by, _tiebreak(list(order_by), self._cols.id)]
        if not deferred:
            stmt = self._scoped(select(*columns)).where(*where).order_by(*order)
            return stmt.offset(bindparam("page_offset")).limit(bindparam("page_limit"))
        # As in ``list``: the skipped rows are walked in the index that covers the order,
        # and only the page's rows are read, by id (not scoped again: see ``list``).
        ids = self._scoped(select(self._cols.id)).where(*where).order_by(*order)
        ids = ids.offset(bindparam("page_offset")).limit(bindparam("page_limit"))
        return select(*columns).where(self._cols.id.in_(ids)).order_by(*order)

    def _rows_statement(
        self,
        columns: tuple[Any, ...],
        where: tuple[Any, ...],
        order_by: tuple[Any, ...],
        deferred: bool,
    ) -> _Rows:
        # Keyed by the parts' ids (SQL expressions overload ==); the cached entry keeps the
        # parts alive, so an id cannot be reused by another object while it is cached.
        parts = (self.model, *columns, None, *where, None, *order_by)
        key = (*map(id, parts), deferred)
        cached = _ROWS_CACHE.get(key)
        if cached is not None:
            return cached
        stmt = self._rows_select(columns, where, order_by, deferred)
        if len(_ROWS_CACHE) >= _ROWS_CACHE_MAX:  # per-request clauses would grow it forever
            _ROWS_CACHE.clear()
        cached = _ROWS_CACHE[key] = _Rows(parts, stmt, {})
        return cached

    def count(self, *where: ColumnElement[bool]) -> int:
        """How many rows match the conditions."""
        stmt = self._scoped(select(func.count()).select_from(self.model)).where(*where)
        return int(self.session.scalar(stmt) or 0)

    def add(self, row: M) -> M:
        """Add a new row to the organization (flushed, not committed)."""
        row.org_id = self.org_id  # type: ignore[attr-defined]
        self.session.add(row)
        self.session.flush()
        return row

    def update(self, row: M, values: Mapping[str, Any]) -> M:
        """Set the given attributes (a PATCH's ``model_dump(exclude_unset=True)``)."""
        for key, value in values.items():
            if not hasattr(self.model, key):
                raise AttributeError(f"{self.model.__name__} has no column {key}")
            setattr(row, key, value)
        self.session.flush()
        return row

    def delete(self, row: M) -> None:
        """Delete the row (flushed, not committed)."""
        self.session.delete(row)
        self.session.flush()


def _connection(session: Session) -> Connection:
    """The connection a prepared read runs on. An inline unit's session is bound to the
    loop's connection (``UnitSessions``): reading on it directly does not begin the
    session's transaction (~45 µs to begin and end). Its DBAPI connection is in whatever
    state the unit left it, so the read sees the unit's own writes, as
    ``session.connection()`` would."""
    bind = session.bind
    return bind if isinstance(bind, Connection) else session.connection()


def _run(conn: Connection, cached: _Rows, values: Mapping[str, Any]) -> Sequence[Any]:
    """A cached statement's rows, prepared for the connection's dialect when it can be."""
    dialect = conn.dialect.name
    if dialect not in cached.prepared:
        cached.prepared[dialect] = prepare(cached.stmt, conn.dialect)
    prepared = cached.prepared[dialect]
    if prepared is not None:
        return prepared.rows(conn, values)
    return conn.execute(cached.stmt, values).all()


def read(
    session: Session, stmt: Select[Any], params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of a module-level statement (its values named ``bindparam``s given in
    ``params``), run prepared: for the one-off reads of a hot path (a count)."""
    key = ("read", id(stmt))
    cached = _ROWS_CACHE.get(key)
    if cached is None:
        if len(_ROWS_CACHE) >= _ROWS_CACHE_MAX:
            _ROWS_CACHE.clear()
        cached = _ROWS_CACHE[key] = _Rows((stmt,), stmt, {})
    if session.autoflush:  # the session's pending changes, as an ORM query would see them
        session.flush()
    return _run(_connection(session), cached, params or {})


# Statements built once per shape (``shaped``): bounded, a shape being a few counts.
_SHAPED: dict[tuple[Any, ...], Select[Any]] = {}
_SHAPED_MAX = 512


class Names:
    """The bound parameters of a statement being built, handed out in order (``k0``,
    ``k1``...): the order in which its caller lists the request's values (``bound``)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> Any:
        self.n += 1
        return bindparam(f"k{self.n - 1}")

    def many(self, count: int) -> list[Any]:
        return [self() for _ in range(count)]


def shaped(build: Callable[[Any, Names], Select[Any]], shape: Hashable) -> Select[Any]:
    """``build(shape, Names())``, built once per shape: for statements whose structure
    follows the request (how many arms, how long an ``IN`` list) while their values are
    bound parameters. Building such a statement from the request's values on every
    request cost more than running it (a member's deep listAssets page: ~2.5 of 5 ms);
    built once, it runs prepared through ``read``."""
    key = (build, shape)
    stmt = _SHAPED.get(key)
    if stmt is None:
        if len(_SHAPED) >= _SHAPED_MAX:
            _SHAPED.clear()
        stmt = _SHAPED[key] = build(shape, Names())
    return stmt


def bound(values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of a ``shaped`` statement: ``values`` in ``Names``' order."""
    return {f"k{n}": v for n, v in enumerate(values)}


def padded(values: Iterable[Any]) -> list[Any]:
    """An ``IN`` list's values, at least one, padded to a power of two by repeating the
    last (an ``IN`` or ``NOT IN`` list ignores duplicates): a shape per size class."""
    out = list(dict.fromkeys(values))
    if not out:
        raise ValueError("an IN list needs a value")
    return out + [out[-1]] * ((1 << (len(out) - 1).bit_length()) - len(out))


LOOKUP_MAX = 1024  # more keys: one expanding IN, executed the usual way


def lookup(
    session: Session,
    columns: Sequence[Any],
    key: Any,
    keys: Iterable[Any],
    *where: ColumnElement[bool],
    params: Mapping[str, Any] | None = None,
) -> Sequence[Any]:
    """Rows of ``columns`` whose ``key`` is one of ``keys``: what a page's items refer to
    (folder names, labels, users), in one prepared read (named tuples, as ``rows``).

    An ``IN`` list is complete only at execution time, which ``prepare`` refuses; here it
    has one named parameter per key, the keys padded (repeating one: an ``IN`` list
    ignores duplicates) to the next power of two, so a statement is built and prepared
    per size class only. Same rules for ``columns`` and ``where`` as ``Repository.rows``:
    module-level clauses, per-request values in ``params``.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    if session.autoflush:  # the session's pending changes, as an ORM query would see them
        session.flush()
    conn = _connection(session)
    if len(wanted) > LOOKUP_MAX:
        stmt = select(*columns).where(key.in_(wanted), *where)
        return conn.execute(stmt, dict(params or {})).all()
    size = 1 << (len(wanted) - 1).bit_length()
    parts = ("lookup", *columns, None, key, None, *where)
    cache_key = (*map(id, parts), size)
    cached = _ROWS_CACHE.get(cache_key)
    if cached is None:
        slots: list[Any] = [bindparam(f"key_{n}") for n in range(size)]
        stmt = select(*columns).where(key.in_(slots), *where)
        if len(_ROWS_CACHE) >= _ROWS_CACHE_MAX:
            _ROWS_CACHE.clear()
        cached = _ROWS_CACHE[cache_key] = _Rows(parts, stmt, {})
    values = dict(params or {})
    last = wanted[-1]
    for n in range(size):
        values[f"key_{n}"] = wanted[n] if n < len(wanted) else last
    return _run(conn, cached, values)


def contains_pattern(text: str) -> str:
    """The LIKE pattern (escape ``\\``) of ``contains_text``: for a module-level
    ``column.ilike(bindparam(...), escape="\\")`` whose value goes in ``params``."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_text(column: QueryableAttribute[Any], text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, case-insensitively, as plain text: user input becomes
    a LIKE pattern only with its metacharacters (``%``, ``_``, the escape) escaped."""
    return column.ilike(contains_pattern(text), escape="\\")
