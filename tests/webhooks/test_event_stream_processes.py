"""Event streams served by real ``cmpapi serve`` processes, on SQLite and PostgreSQL:
events recorded by another process arrive (NOTIFY on PostgreSQL, ``data_version`` on
SQLite: the streams poll every 30 s only), and a shutdown ends open streams at once
instead of waiting for their clients."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.env import child_env
from tests.support.servers import free_port, wait_serving
from tests.support.world import World
from tests.webhooks.sse import Listener

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker

Serve = Callable[..., tuple[subprocess.Popen[bytes], str]]


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    """Starts ``cmpapi serve`` processes on the test database (``serve(name, *args,
    **env)``: the process and its base URL, once it answers); kills leftovers."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        defaults = {
            "CMPAPI_DATABASE_URL": database_url,
            "CMPAPI_DATA_DIR": str(tmp_path),
            "CMPAPI_WORKER_EMBEDDED": "false",
            "CMPAPI_EVENT_STREAM_POLL_INTERVAL": "30",
        }
        env = child_env(**(defaults | env))
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--port", str(port), *args]
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_serving(proc, base, log.read_text)
        return proc, base

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def trigger(base: str, world: World, name: str) -> str:
    r = httpx.post(
        f"{base}/ext/v1/events/trigger", json={"event_name": name}, headers=world.auth(), timeout=30
    )
    assert r.status_code == 201, r.text
    event_id: str = r.json()["id"]
    return event_id


def test_events_recorded_by_another_process_arrive(serve: Serve, world: World) -> None:
    _, listening = serve("a")
    _, recording = serve("b")
    with Listener(f"{listening}/ext/v1/events/stream", world.auth()) as stream:
        latencies, ids = [], []
        for n, name in enumerate(("task_added", "asset_added", "event_added"), start=1):
            ids.append(trigger(recording, world, name))
            answered = time.monotonic()
            arrived = stream.wait_events(n, timeout=10)[-1].at
            latencies.append(arrived - answered)
        assert [m.fields["webhook-id"] for m in stream.events()] == ids
    print(f"after the 201: {', '.join(f'{s * 1000:.0f} ms' for s in latencies)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_ends_open_streams(
    serve: Serve, world: World, signum: int, database_url: str
) -> None:
    if signum == signal.SIGINT and not database_url.startswith("sqlite"):
        pytest.skip("Ctrl-C is SIGTERM's path: one backend is enough")
    proc, base = serve("server", CMPAPI_WORKER_EMBEDDED="true")
    url = f"{base}/ext/v1/events/stream"
    with Listener(url, world.auth()) as one, Listener(url, world.auth()) as two:
        trigger(base, world, "task_added")
        one.wait_events(1)
        asked = time.monotonic()
        proc.send_signal(signum)
        assert one.wait_end(5) and two.wait_end(5), "the streams outlived the shutdown"
        ended = max(s.ended_at or 0 for s in (one, two)) - asked
        proc.wait(timeout=15)
        exited = time.monotonic() - asked
    assert "closing: the server is shutting down" in one.comments
    print(f"streams ended {ended * 1000:.0f} ms after the signal; exit after {exited:.2f} s")
    assert ended < 1.5


def test_api_processes_share_streams_and_stop(
    serve: Serve, world: World, database_url: str
) -> None:
    """``serve --workers 2``: whichever process records an event, a stream of either
    process gets it; stopping the server ends the streams of both. (SQLite: processes
    of other kinds wake each other on PostgreSQL the same way, by NOTIFY.)"""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's NOTIFY between processes: the test above")
    proc, base = serve("workers", "--workers", "2")
    url = f"{base}/ext/v1/events/stream"
    with Listener(url, world.auth()) as one, Listener(url, world.auth()) as two:
        ids = [trigger(base, world, "task_added") for _ in range(6)]
        for stream in (one, two):
            assert [m.fields["webhook-id"] for m in stream.wait_events(6)] == ids
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert one.wait_end(5) and two.wait_end(5), "the streams outlived the shutdown"
        proc.wait(timeout=20)
    print(f"--workers 2 stopped after {time.monotonic() - asked:.2f} s")
