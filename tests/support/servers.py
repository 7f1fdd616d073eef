"""Real HTTP servers for tests: the app on uvicorn in a thread of the test process, or a
``cmpapi serve --demo`` process."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.env import child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_in_thread(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Start ``app`` on a free loopback port; its base URL once it accepts requests."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real server for the block; yields its base URL."""
    base, server, thread = start_in_thread(app)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_serving(
    proc: subprocess.Popen[Any], base: str, output: Callable[[], str], timeout: float = 120
) -> None:
    """Until the server process at ``base`` answers ``/healthz`` (start-up imports the app;
    CI runs tests side by side); fails with its ``output`` if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, output()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


@contextmanager
def demo_process(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A real ``cmpapi serve --demo`` process on a free port (``child_env``: the test run's
    ``CMPAPI_*`` variables left out but the low hash cost; ``env`` added) for the block;
    yields it, once it answers, with its base URL. Its stdout (stderr merged) is the
    banner, then the logs."""
    port = free_port()
    env = child_env(**(env or {}))
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--demo", "--port", str(port)]
    argv += ["--data-dir", str(data_dir), *args]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(proc, base, lambda: proc.stdout.read() if proc.stdout else "")
        yield proc, base
    finally:  # also when it did not start: no server left behind
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
