"""`cmpapi worker` as a real process (crash safety, graceful stop) and `cmpapi jobs list`."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.jobs import enqueue
from cmpapi.server.jobs.claim import claim
from cmpapi.server.settings import Settings
from tests.jobs.conftest import jobs, runs
from tests.support.workers import Start, wait_for, worker_processes


@pytest.fixture
def start_worker(job_settings: Settings, tmp_path: Path) -> Iterator[Start]:
    """Starts `cmpapi worker --import tests.jobs.handlers` processes; kills leftovers."""
    args = ("--concurrency", "4", "--import", "tests.jobs.handlers")
    with worker_processes(job_settings.resolved_database_url, tmp_path) as start:
        yield lambda name, **settings: start(name, *args, **settings)


def test_kill_9_mid_way_loses_no_job(
    start_worker: Callable[[str], subprocess.Popen[bytes]], session: Session, engine: Engine
) -> None:
    ids = [enqueue(session, "test.record", {"sleep": 0.01}).id for _ in range(300)]
    session.commit()
    first = start_worker("first")
    wait_for(lambda: len(runs(engine)) >= 100, first, 30)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    in_flight = sum(j.status == "running" for j in jobs(engine))

    second = start_worker("second")
    wait_for(lambda: all(j.status == "succeeded" for j in jobs(engine)), second, 30)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0

    per_job = Counter(r.job_id for r in runs(engine))
    assert set(per_job) == set(ids), "every job ran at least once"
    duplicates = sum(n - 1 for n in per_job.values())
    print(f"kill -9 with {in_flight} jobs in flight: {duplicates} duplicate runs")
    # Only a job that ran but whose completion was not yet recorded can run twice.
    assert duplicates <= 4
    assert max(j.attempts for j in jobs(engine)) <= 2


def test_sigterm_releases_running_jobs(
    start_worker: Callable[[str], subprocess.Popen[bytes]], session: Session, engine: Engine
) -> None:
    enqueue(session, "test.slow", {"sleep": 60})
    session.commit()
    proc = start_worker("slow", CMPAPI_WORKER_SHUTDOWN_TIMEOUT="0.2")
    wait_for(lambda: jobs(engine)[0].status == "running", proc, 30)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    [row] = jobs(engine)
    assert (row.status, row.attempts, row.locked_by) == ("queued", 0, None)


def test_jobs_list(job_settings: Settings, session: Session, engine: Engine) -> None:
    enqueue(session, "test.record", {}, org_id="o1")
    enqueue(session, "test.flaky", {})
    session.commit()
    claim(engine, "host:1:abc", {"test.flaky": 1}, 30)
    env = {
        "CMPAPI_DATABASE_URL": job_settings.resolved_database_url,
        "CMPAPI_DATA_DIR": str(job_settings.data_dir),
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "test.record" in result.output and "host:1:abc" in result.output
    assert "jobs per kind and status" in result.output

    result = CliRunner().invoke(cli, ["jobs", "list", "--status", "running"], env=env)
    assert result.exit_code == 0 and "test.record " not in result.output.split("jobs per")[0]
    result = CliRunner().invoke(cli, ["jobs", "list", "--status", "nope"], env=env)
    assert result.exit_code == 2
