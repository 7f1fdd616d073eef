"""``cmpapi backup DEST``: a consistent copy of a SQLite + local-files install while the
server runs, and ``cmpapi backup --check DEST`` to verify one. The work is
``cmpapi.server.backup``'s (imported when the command runs: ``cmpapi --help`` stays fast).
PostgreSQL and S3 installs are refused with what to use instead (docs/deploying.md).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cmpapi.cli.local import DataDir, console, err, local_settings

DOCS = "docs/deploying.md#backups"


def backup(
    dest: Annotated[Path, typer.Argument(help="Directory to create (must not exist or be empty)")],
    check: Annotated[
        bool, typer.Option("--check", help="Verify the backup at DEST instead of making one")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Back up the SQLite database and the local files, consistently, while the server
    runs; DEST is then a data directory to restore (stop the server, serve from a copy)."""
    from cmpapi.server import backup as backups

    if check:
        _check(dest)
        return
    settings = local_settings(data_dir=data_dir)
    database = _sqlite_file(settings)
    started = time.monotonic()
    try:
        copied = backups.make_backup(
            database, settings.resolved_storage_dir, settings.data_dir, dest
        )
    except backups.BackupError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, markup=True, highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"backed up {database} and {len(copied.objects)} files ({_size(copied.size)}) to "
        f"{dest} in {time.monotonic() - started:.1f} s ({copied.rounds} round"
        f"{'s' if copied.rounds > 1 else ''}); verify it with `cmpapi backup --check {dest}`",
        soft_wrap=True,
        highlight=False,
    )


def _sqlite_file(settings: Any) -> Path:
    """The SQLite file of a local-files install; other installs are refused (exit 2)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    problems = []
    if url.get_backend_name() != "sqlite" or not url.database:
        problems.append(
            f"the database is {url.get_backend_name()} ({url.render_as_string()}): back it up "
            "with pg_dump (or your provider's snapshots)"
        )
    if settings.storage_backend != "local":
        problems.append(
            f"files are in the S3 bucket {settings.s3_bucket}: protect them with bucket "
            "versioning or replication"
        )
    if problems:
        err.print(
            "error: cmpapi backup copies a SQLite database and local files only; "
            + "; ".join(problems)
            + f" ({DOCS})",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    return Path(url.database or "").resolve()


def _check(dest: Path) -> None:
    from cmpapi.server import backup as backups
    from cmpapi.server.db.migrate import heads

    checked = backups.check_backup(dest)
    for problem in checked.problems:
        err.print(f"problem: {problem}", soft_wrap=True, markup=False, highlight=False)
    if checked.problems:
        err.print(f"error: {dest} is not a good backup ({len(checked.problems)} problems)")
        raise typer.Exit(1)
    at = ", ".join(sorted(checked.revisions)) or "none"
    schema = "at head" if checked.revisions == heads() else f"at {at}: `serve` migrates it"
    console.print(
        f"{dest}: database intact (schema {schema}), {checked.objects} files "
        f"({_size(checked.size)}) present with the recorded sizes and SHA-256",
        soft_wrap=True,
        highlight=False,
    )


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - unreachable


def register(app: typer.Typer) -> None:
    """Attach ``backup`` to the root CLI."""
    app.command()(backup)
