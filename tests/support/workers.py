"""Job workers for tests: one driven in this process until a condition holds, or real
`cmpapi worker` processes (to kill mid-way) with leftovers killed at the end."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cmpapi.server.jobs.worker import Worker
from tests.support.env import child_env

ROOT = Path(__file__).resolve().parents[2]
Start = Callable[..., subprocess.Popen[bytes]]


def drive(worker: Worker, until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run ``worker`` in a fresh event loop until ``until()`` holds, then stop it."""

    async def main() -> None:
        await worker.start()
        try:
            deadline = time.monotonic() + timeout
            while not await asyncio.to_thread(until):
                assert time.monotonic() < deadline, "condition not reached in time"
                await asyncio.sleep(0.02)
        finally:
            await worker.stop()

    asyncio.run(main())


@contextmanager
def worker_processes(database_url: str, data_dir: Path) -> Iterator[Start]:
    """``start(name, *worker_args, **CMPAPI_settings)`` starts a `cmpapi worker` process on
    the database with fast polls and one-second leases (its output in ``<name>.log``);
    every process still running at the end is killed."""
    procs: list[subprocess.Popen[bytes]] = []
    env = child_env()
    env |= {
        "CMPAPI_DATABASE_URL": database_url,
        "CMPAPI_DATA_DIR": str(data_dir),
        "CMPAPI_WORKER_LEASE_SECONDS": "1",
        "CMPAPI_WORKER_POLL_INTERVAL": "0.05",
        "CMPAPI_WORKER_SHUTDOWN_TIMEOUT": "5",
    }

    def start(name: str, *args: str, **settings: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "cmpapi.cli.main", "worker", *args]
        with open(data_dir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env | settings, stdout=log, stderr=subprocess.STDOUT
            )
        procs.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``condition`` while the worker process lives, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
