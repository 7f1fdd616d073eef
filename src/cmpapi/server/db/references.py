"""Which rows mention an id: what decides whether deleting a user, team or app is safe.

Ids are 32 random hex characters, so a column holding the exact value (or a JSON document
holding it as a string) refers to that object; no list of "columns that hold user ids" has
to be kept up to date by hand. Every table is read once (one scan each, with a count per
candidate column), which suits an administrator's occasional delete, not a request path.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import JSON, Column, String, Text, TypeDecorator, case, cast, func, literal, select
from sqlalchemy.orm import Session

from cmpapi.server.db import tables


def _candidates(columns: list[Column[object]], value: str) -> list[Column[object]]:
    picked: list[Column[object]] = []
    for column in columns:
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        wide = isinstance(kind, String) and (kind.length is None or kind.length >= len(value))
        if isinstance(kind, JSON) or (wide and not isinstance(kind, Text)):
            picked.append(column)
    return picked


def references(session: Session, value: str, *, ignore: Collection[str] = ()) -> dict[str, int]:
    """``{"table.column": rows}`` for every column holding ``value`` (JSON columns: holding
    it as a string anywhere in the document), except the ``ignore`` ones."""
    quoted = '%"' + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"%'
    found: dict[str, int] = {}
    for table in tables.Base.metadata.sorted_tables:
        columns = [
            c
            for c in _candidates(list(table.columns), value)
            if f"{table.name}.{c.name}" not in ignore
        ]
        if not columns:
            continue
        counts = []
        for column in columns:
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            hit = (
                cast(column, Text).like(quoted, escape="\\")
                if isinstance(kind, JSON)
                else column == literal(value)
            )
            counts.append(func.coalesce(func.sum(case((hit, 1), else_=0)), 0))
        row = session.execute(select(*counts).select_from(table)).one()
        for column, count in zip(columns, row, strict=True):
            if count:
                found[f"{table.name}.{column.name}"] = int(count)
    return found


def describe(found: dict[str, int]) -> str:
    """``table.column (n rows), ...`` for an error message."""
    return ", ".join(f"{k} ({n} row{'s' if n != 1 else ''})" for k, n in sorted(found.items()))
