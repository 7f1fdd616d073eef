"""Real HTTP servers for tests: the app on uvicorn in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


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
