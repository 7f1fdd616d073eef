"""Pre-built reads: a statement compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy's ``Connection.execute`` of a cached statement still builds an execution context,
a cursor result and its rows on every call: ~35 µs of a ~310 µs listUsers request in-process,
where SQLite itself spends ~30 µs (bench/README.md, "Third pass"). ``Prepared`` keeps what
those steps work out per statement (the SQL text, the order of the parameters, the bind and
result processors of the column types) and does only the per-call part: the parameters in,
one ``execute`` and ``fetchall``, the rows out as named tuples (attribute access like
SQLAlchemy's ``Row``).

A driver error is raised as SQLAlchemy's wrapped exception (``OperationalError`` ...), as
``Connection.execute`` would: the read budget (``db/runner.py``) and the error mapping
(``http/errors.py``) see what they always saw.

Statements whose SQL is only complete at execution time (expanding ``IN`` lists, literal
execution) are refused: ``prepare`` returns None and the caller executes the usual way.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


class Prepared:
    """One statement for one dialect."""

    __slots__ = ("_binds", "_dialect", "_names", "_results", "_row", "sql", "template")

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self._dialect = dialect
        self.sql = str(compiled)
        # The statement's constants, and each parameter's processor.
        self.template: dict[str, Any] = {}
        self._binds: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            if not bind.required:
                self.template[name] = bind.effective_value
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self._binds[name] = proc
        positions = compiled.positiontup
        self._names: tuple[str, ...] | None = tuple(positions) if positions is not None else None
        columns = list(stmt.selected_columns)
        self._results: tuple[tuple[int, Processor], ...] = tuple(
            (i, proc)
            for i, column in enumerate(columns)
            if (proc := column.type.dialect_impl(dialect).result_processor(dialect, None))
        )
        self._row: Any = namedtuple("PreparedRow", [str(c.key) for c in columns])  # type: ignore[misc]

    def args(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``params`` (positional or named, as the SQL says)."""
        values = {**self.template, **params}
        for name, proc in self._binds.items():
            values[name] = proc(values[name])
        return values if self._names is None else [values[n] for n in self._names]

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for ``params`` on ``conn``'s DBAPI connection."""
        args = self.args(params)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, args)
            fetched = cursor.fetchall()
        except self._dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                self.sql, args, exc, self._dialect.loaded_dbapi.Error, dialect=self._dialect
            ) from exc
        finally:
            cursor.close()
        make = self._row._make
        if not self._results:
            return [make(row) for row in fetched]
        out = []
        for row in fetched:
            values_ = list(row)
            for i, proc in self._results:
                values_[i] = proc(values_[i])
            out.append(make(values_))
        return out


def prepare(stmt: Select[Any], dialect: Dialect) -> Prepared | None:
    """The prepared form of ``stmt``, or None when it cannot be prepared."""
    compiled = stmt.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    keys = [c.key for c in stmt.selected_columns]
    if len(set(keys)) != len(keys) or not all(k and k.isidentifier() for k in keys):
        return None
    return Prepared(stmt, dialect)
