"""``cmpapi worker`` (run background jobs) and ``cmpapi jobs list`` (look at the queue)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cmpapi.cli.local import DataDir, err, local_settings, open_db

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
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.jobs.registry import import_handlers
    from cmpapi.server.jobs.worker import Worker

    settings = local_settings(data_dir=data_dir)
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
    data_dir: DataDir = None,
) -> None:
    """Show the newest jobs, then how many jobs each kind has in each status."""
    from sqlalchemy import select

    from cmpapi.server.jobs.queue import counts
    from cmpapi.server.jobs.tables import STATUSES, Job

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}", param_hint="--status")
    with open_db(data_dir) as session:
        query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
        if status:
            query = query.where(Job.status == status)
        if kind:
            query = query.where(Job.kind == kind)
        out = Console()  # made now, so it sees this run's COLUMNS
        out.print(_jobs_table(session.scalars(query)))
        out.print(_counts_table(counts(session), STATUSES))


def _jobs_table(jobs: Any) -> Table:
    table = Table("id", "kind", "status", "attempts", "run at", "worker", "last error")
    for job in jobs:
        table.add_row(
            job.id, job.kind, job.status, f"{job.attempts}/{job.max_attempts}",
            job.run_at.strftime("%Y-%m-%d %H:%M:%S"), job.locked_by or "",
            (job.last_error or "")[:60],
        )  # fmt: skip
    return table


def _counts_table(by_kind_status: dict[tuple[str, str], int], statuses: tuple[str, ...]) -> Table:
    table = Table("kind", *statuses, title="jobs per kind and status")
    for kind in sorted({k for k, _ in by_kind_status}):
        table.add_row(kind, *(str(by_kind_status.get((kind, s), 0)) for s in statuses))
    return table


def register(app: typer.Typer) -> None:
    """Attach ``worker`` and ``jobs`` to the root CLI."""
    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")
