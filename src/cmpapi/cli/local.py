"""What every command that works on this machine's database shares: the ``--data-dir``,
``--database-url``, ``--org`` and ``--output`` options, the settings, a session on a
database that is ready (migrated for commands that write, checked for commands that only
read), the organization a command works on, listings, and one-line errors. Command modules
import this, never each other; ``main`` attaches them all.

Nothing here imports the server package at module level: ``cmpapi --help`` and the listings
stay fast because each command imports only what its body needs (docs/cli.md#speed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from cmpapi.cli.output import OutputFormat as OutputFormat  # re-exported for the commands
from cmpapi.cli.output import add_columns

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory; the SQLite database is <data-dir>/cmpapi.db unless "
        "--database-url says otherwise (default: CMPAPI_DATA_DIR, else ./cmpapi-data)",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: "
        "CMPAPI_DATABASE_URL, else SQLite in the data directory)",
    ),
]
Org = Annotated[
    str | None, typer.Option("--org", help="Organization id or name (default: the only one)")
]


Output = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        case_sensitive=False,
        help="table (for people) or json (for programs: a list of objects with stable keys)",
    ),
]


# -- errors ---------------------------------------------------------------------------


def fail(exc: Exception) -> typer.Exit:
    """Print ``exc``'s message and, one per line, the field errors that say why; exit 1."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(str(getattr(exc, 'message', exc)))}", soft_wrap=True)
    for field, reason in (getattr(exc, "errors", None) or {}).items():
        err.print(f"  {escape(str(field))}: {escape(str(reason))}", soft_wrap=True)
    return typer.Exit(1)


def die(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (1 failed, 2 usage)."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def unexpected(exc: BaseException) -> None:
    """Print an error no command expected as one line: its type and first line."""
    from rich.markup import escape

    first = (str(exc).strip().splitlines() or [""])[0]
    err.print(
        f"[red]error:[/red] unexpected {escape(type(exc).__name__)}: {escape(first)} (if it "
        "persists, report it with the command that failed)",
        soft_wrap=True,
    )


# -- settings and the database --------------------------------------------------------


def local_settings(**overrides: Any) -> Any:
    """The one ``Settings`` object: the ``CMPAPI_*`` environment, overridden by the options
    given (``None``: not given). A bad setting exits 1 naming the variable."""
    from pydantic import ValidationError

    from cmpapi.server.errors import Invalid
    from cmpapi.server.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        reasons = {f"CMPAPI_{'_'.join(map(str, e['loc'])).upper()}": e["msg"] for e in exc.errors()}
        raise fail(Invalid("Invalid settings", reasons)) from None


@contextmanager
def open_db(
    data_dir: Path | None, database_url: str | None = None, *, write: bool = True
) -> Iterator[Any]:
    """A session on the database the options (else the settings) name. ``write``: migrate
    it first, creating it if needed (SQLite). Otherwise it must exist and be at the
    migration head: nothing is created or migrated (exit 1 saying which command fixes it).
    Domain and connection errors exit 1 with their message, never a traceback."""
    settings = local_settings(data_dir=data_dir, database_url=database_url)
    with database(settings, write=write) as session:
        yield session


@contextmanager
def database(settings: Any, *, write: bool) -> Iterator[Any]:
    """``open_db`` for settings already built."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from cmpapi.server.db.engine import make_engine, make_sessionmaker
    from cmpapi.server.errors import DomainError

    if not write:
        _require_sqlite_file(settings.resolved_database_url)
    try:
        engine = make_engine(settings)
    except ArgumentError as exc:  # a URL SQLAlchemy cannot parse, or an unknown dialect
        die(f"invalid database URL: {exc}")
    except OSError as exc:  # the SQLite file's directory cannot be made
        die(f"cannot create the database's directory: {exc}")
    try:
        _ready(engine, write=write)
        with make_sessionmaker(engine)() as session:
            try:
                yield session
            except DomainError as exc:
                raise fail(exc) from exc
    except OperationalError as exc:
        die(f"database {_where(engine)}: {str(exc.orig or exc).strip().splitlines()[0]}")
    finally:
        engine.dispose()


def _where(engine: Any) -> str:
    url = engine.url
    return str(url.database) if url.drivername.startswith("sqlite") else _hide(url)


def _hide(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def _require_sqlite_file(url: str) -> None:
    """A command that only reads does not create the SQLite file (nor its directory), nor
    write to an empty one (the first connection would)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    name = parsed.database
    if not parsed.drivername.startswith("sqlite") or not name or name == ":memory:":
        return
    path = Path(name)
    if not path.is_file():
        die(
            f"no database at {name}: `cmpapi init` sets one up (`cmpapi db upgrade` "
            "creates an empty one); or point at yours with --data-dir, --database-url "
            "or CMPAPI_DATABASE_URL"
        )
    if path.stat().st_size == 0:
        die(f"database {name} is {NOT_SET_UP}, not at the head: run `cmpapi db upgrade`")


NOT_SET_UP = "not set up (no tables)"


def _ready(engine: Any, *, write: bool) -> None:
    """Migrate (``write``) or check that the database is at the code's migration head."""
    from cmpapi.server.db.migrate import current, heads, upgrade

    with engine.connect() as conn:
        at = current(conn)
    if at == heads():
        return
    unknown = _unknown_revisions(at)
    if unknown:
        die(
            f"database {_where(engine)} is at migration {', '.join(sorted(unknown))}, which "
            "this cmpapi does not know: a newer cmpapi migrated it; upgrade cmpapi"
        )
    if write:
        upgrade(engine)
        return
    state = f"at migration {', '.join(sorted(at))}" if at else NOT_SET_UP
    die(f"database {_where(engine)} is {state}, not at the head: run `cmpapi db upgrade`")


def _unknown_revisions(revisions: frozenset[str]) -> list[str]:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from cmpapi.server.db.migrate import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    unknown = []
    for revision in revisions:
        try:
            script.get_revision(revision)
        except CommandError:
            unknown.append(revision)
    return unknown


# -- organizations --------------------------------------------------------------------


def resolve_org(session: Any, org: str | None) -> str:
    """The organization a local command works on: ``--org`` (an id, or a name no other
    organization has), or the only one. Otherwise exits 2 with one line that lists the
    organizations to choose from (every command with ``--org`` comes here)."""
    from sqlalchemy import select

    from cmpapi.server.identity.tables import Organization

    stmt = select(Organization.id, Organization.name).order_by(Organization.created_at)
    orgs = [(str(id_), str(name)) for id_, name in session.execute(stmt)]
    if org is None:
        if len(orgs) == 1:
            return orgs[0][0]
        problem = "several organizations, choose one with --org" if orgs else "no organization yet"
    else:
        by_id = [o for o in orgs if o[0] == org]
        matches = by_id or [o for o in orgs if o[1].casefold() == org.strip().casefold()]
        if len(matches) == 1:
            return matches[0][0]
        problem = f"--org {org}: several organizations have this name, use the id"
        if not matches:
            problem = f"--org {org}: no such organization"
    raise usage_error(problem, orgs)


MAX_LISTED_ORGS = 20


def usage_error(problem: str, orgs: list[tuple[str, str]]) -> typer.Exit:
    """Print ``problem`` and the organizations as one line on stderr; exit code 2."""
    from rich.markup import escape

    listed = ", ".join(f"{id_} ({name})" for id_, name in orgs[:MAX_LISTED_ORGS])
    if len(orgs) > MAX_LISTED_ORGS:
        listed += f", and {len(orgs) - MAX_LISTED_ORGS} more"
    hint = f"; organizations: {listed}" if orgs else " (`cmpapi init` creates one)"
    err.print(f"[red]error:[/red] {escape(problem + hint)}", soft_wrap=True)
    return typer.Exit(2)


# -- listings -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a listing's table: the row key it shows (or ``show(row)``) and its
    header. An ``ident`` column (ids) stays on one line at any terminal width; other cells
    fold, never cut."""

    key: str
    header: str
    ident: bool = False
    show: Callable[[Mapping[str, Any]], Any] | None = None

    def cell(self, row: Mapping[str, Any]) -> str:
        """This column's cell of ``row``."""
        return cell(self.show(row) if self.show else row.get(self.key))


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    output: OutputFormat,
    title: str | None = None,
) -> None:
    """A listing: a table of ``columns``, or (json) every row with all its keys."""
    if output is OutputFormat.json:
        print(json.dumps([jsonable(row) for row in rows], indent=2))
        return
    from rich.table import Table

    table = Table(title=title)
    cells = [[col.cell(row) for col in columns] for row in rows]
    add_columns(table, [c.header for c in columns], [c.ident for c in columns], cells)
    for row_cells in cells:
        table.add_row(*row_cells)
    Console().print(table)  # made now, so it sees this run's COLUMNS


def print_object(obj: Mapping[str, Any], output: OutputFormat) -> None:
    """One object: ``key: value`` lines, or (json) one JSON object."""
    if output is OutputFormat.json:
        print(json.dumps(jsonable(obj), indent=2))
        return
    for key, value in obj.items():
        print(f"{key}: {cell(value)}")


def cell(value: Any) -> str:
    """A value as a table cell or a ``key: value`` line shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 UTC strings (``Z``), as the API writes them."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
