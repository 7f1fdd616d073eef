"""``cmpapi worker`` (run background jobs) and ``cmpapi jobs list`` (look at the queue)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Output,
    OutputFormat,
    err,
    local_settings,
    open_db,
    print_rows,
)

Imports = Annotated[
    list[str] | None,
    typer.Option("--import", help="Module defining extra job handlers (repeatable)"),
]


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default: CMPAPI_WORKER_CONCURRENCY)"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    imports: Imports = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(hidden=True, help="Stop (draining) once process PID is not the parent"),
    ] = None,
) -> None:
    """Apply migrations, then run background jobs until SIGTERM or SIGINT.

    A first signal drains gracefully (docs/jobs.md); a second exits at once.
    """
    from cmpapi.cli.access_log import configure_worker_logging
    from cmpapi.cli.startup import startup_objects

    with startup_objects():
        from cmpapi.server.db.engine import make_engine
        from cmpapi.server.db.migrate import upgrade
        from cmpapi.server.jobs.registry import import_handlers
        from cmpapi.server.jobs.worker import Worker

        settings = local_settings(data_dir=data_dir, database_url=database_url)
        configure_worker_logging(settings.log_format)
        engine = make_engine(settings)
        upgrade(engine)
        engine.dispose()
        registry = import_handlers([*settings.worker_imports.split(","), *(imports or [])])
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_run(Worker(settings, concurrency=concurrency, registry=registry), parent_pid))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed: one worker delivers 15-30% more webhooks a second on
    it (bench/README.md). ``serve`` stays on asyncio's loop for the API's tail latency."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return uvloop.new_event_loop


async def _run(worker: Any, parent_pid: int | None = None) -> None:
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            err.print("second signal: exiting now")
            os._exit(1)
        worker.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    watcher = None
    if parent_pid is not None:
        watcher = asyncio.create_task(_stop_without_parent(worker, parent_pid))
    await worker.run()
    if watcher is not None:
        watcher.cancel()


async def _stop_without_parent(worker: Any, parent_pid: int) -> None:
    """The job worker of ``cmpapi serve --workers N`` stops when serve is gone (killed with
    SIGKILL: it could not stop its children), instead of running on unsupervised."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(PARENT_CHECK_EVERY)
    err.print(f"parent process {parent_pid} is gone: stopping")
    worker.request_stop()


PARENT_CHECK_EVERY = 1.0  # seconds


jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option(help="queued, running, succeeded, failed or cancelled")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show")] = 50,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the newest jobs, then (table) how many jobs each kind has in each status."""
    from sqlalchemy import select

    from cmpapi.server.jobs.queue import counts
    from cmpapi.server.jobs.tables import STATUSES, Job

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}", param_hint="--status")
    with open_db(data_dir, database_url, write=False) as session:
        query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
        if status:
            query = query.where(Job.status == status)
        if kind:
            query = query.where(Job.kind == kind)
        print_rows([_job(job) for job in session.scalars(query)], JOB_COLUMNS, output)
        if output is OutputFormat.table:
            by_kind = counts(session)
            rows = [
                {"kind": kind, **{s: by_kind.get((kind, s), 0) for s in STATUSES}}
                for kind in sorted({k for k, _ in by_kind})
            ]
            columns = [Column("kind", "kind"), *(Column(s, s) for s in STATUSES)]
            print_rows(rows, columns, output, title="jobs per kind and status")


JOB_COLUMNS = [
    Column("id", "id", ident=True),
    Column("kind", "kind"),
    Column("status", "status"),
    Column("attempts", "attempts", show=lambda j: f"{j['attempts']}/{j['max_attempts']}"),
    Column("run_at", "run at"),
    Column("locked_by", "worker"),
    Column("last_error", "last error", show=lambda j: (j["last_error"] or "")[:60]),
]


def _job(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at,
        "created_at": job.created_at,
        "locked_by": job.locked_by,
        "last_error": job.last_error,
    }


def register(app: typer.Typer) -> None:
    """Attach ``worker`` and ``jobs`` to the root CLI."""
    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")
