"""What every listing of the CLI shares, local or remote: the ``--output`` formats and the
rule for table columns (ids whole on one line at any terminal width, other cells folded,
never cut). Imports nothing of the server or the SDK."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from rich.table import Table


class OutputFormat(StrEnum):
    """How a command prints what it got."""

    table = "table"
    json = "json"


def add_columns(
    table: Table, headers: Sequence[str], idents: Sequence[bool], cells: Sequence[Sequence[str]]
) -> None:
    """Columns for ``headers`` on ``table``: an ident column (``idents``) is as wide as
    its widest cell (of the row ``cells``) and never wraps; the others fold."""
    for index, (header, ident) in enumerate(zip(headers, idents, strict=True)):
        if ident:
            widest = max((len(row[index]) for row in cells), default=0)
            table.add_column(header, no_wrap=True, min_width=max(widest, len(header)))
        else:
            table.add_column(header, overflow="fold")
