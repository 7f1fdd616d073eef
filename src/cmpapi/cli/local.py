"""What every command that works on this machine's database shares: the ``--data-dir`` and
``--org`` options, the settings and a migrated session, the organization a command works
on, and one-line errors. Command modules import this, never each other; ``main`` attaches
them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: CMPAPI_DATA_DIR)")
]
Org = Annotated[
    str | None, typer.Option("--org", help="Organization id or name (default: the only one)")
]


def local_settings(**overrides: Any) -> Any:
    from cmpapi.server.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@contextmanager
def open_db(data_dir: Path | None) -> Iterator[Any]:
    from cmpapi.server.db.engine import make_engine, make_sessionmaker
    from cmpapi.server.db.migrate import upgrade

    engine = make_engine(local_settings(data_dir=data_dir))
    upgrade(engine)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


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
    hint = f"; organizations: {listed}" if orgs else " (`cmpapi demo seed` creates one)"
    err.print(f"[red]error:[/red] {escape(problem + hint)}", soft_wrap=True)
    return typer.Exit(2)


def fail(exc: Exception) -> typer.Exit:
    """Print ``exc``'s message and, one per line, the field errors that say why; exit 1."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(str(getattr(exc, 'message', exc)))}", soft_wrap=True)
    for field, reason in (getattr(exc, "errors", None) or {}).items():
        err.print(f"  {escape(str(field))}: {escape(str(reason))}", soft_wrap=True)
    return typer.Exit(1)
