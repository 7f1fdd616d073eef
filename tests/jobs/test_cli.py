"""`cmpapi worker` as a real process (crash safety, graceful stop) and `cmpapi jobs list`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_worker(
    job_settings: Settings, tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Starts `cmpapi worker --import tests.jobs.handlers` processes; kills leftovers."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMPAPI_")}
    env |= {
        "CMPAPI_DATABASE_URL": job_settings.resolved_database_url,
        "CMPAPI_DATA_DIR": str(tmp_path), "CMPAPI_WORKER_LEASE_SECONDS": "1",
        "CMPAPI_WORKER_POLL_INTERVAL": "0.05", "CMPAPI_WORKER_SHUTDOWN_TIMEOUT": "5",
    }  # fmt: skip

    def start(name: str, **settings: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "cmpapi.cli.main", "worker", "--concurrency", "4",
                "--import", "tests.jobs.handlers"]  # fmt: skip
        with open(tmp_path / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env | settings, stdout=log,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_kill_9_mid_way_loses_no_job(start_worker: Callable[[str], subprocess.Popen[bytes]],
                                     session: Session, engine: Engine) -> None:  # fmt: skip
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


def test_sigterm_releases_running_jobs(start_worker: Callable[[str], subprocess.Popen[bytes]],
                                       session: Session, engine: Engine) -> None:  # fmt: skip
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
    env = {"CMPAPI_DATABASE_URL": job_settings.resolved_database_url,
           "CMPAPI_DATA_DIR": str(job_settings.data_dir), "COLUMNS": "200"}  # fmt: skip
    result = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "test.record" in result.output and "host:1:abc" in result.output
    assert "jobs per kind and status" in result.output

    result = CliRunner().invoke(cli, ["jobs", "list", "--status", "running"], env=env)
    assert result.exit_code == 0 and "test.record " not in result.output.split("jobs per")[0]
    result = CliRunner().invoke(cli, ["jobs", "list", "--status", "nope"], env=env)
    assert result.exit_code == 2
