"""A real HTTP receiver for webhook tests: an asyncio HTTP/1.1 server on a free port in a
thread of its own, recording every request and answering as scripted per path."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """How to answer one request: after ``delay`` seconds, ``status`` with headers/body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    close: bool = False  # drop the connection after answering (without saying so)


@dataclass(frozen=True)
class Received:
    """A request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()


REASONS = {
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Receiver:
    """``url(path)`` to send to; ``script(path, *replies)`` queues answers (then
    ``default``); ``requests(path)`` lists what arrived."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._paths: dict[str, Reply] = {}
        self._received: list[Received] = []
        self._in_flight: dict[str, int] = defaultdict(int)
        self.connections = 0
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self) -> Receiver:
        self._thread.start()
        assert self._ready.wait(10), "receiver did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        """The URL of ``path`` on this receiver."""
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies`` in order."""
        with self._lock:
            self._scripts[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """Answer every (unscripted) request to ``path`` with ``reply``."""
        with self._lock:
            self._paths[path] = reply

    def requests(self, path: str | None = None) -> list[Received]:
        """Requests received so far (to ``path``), in arrival order."""
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 20) -> list[Received]:
        """Wait until ``count`` requests (to ``path``) arrived; fails the test otherwise."""
        return wait_until(
            lambda: len(self.requests(path)) >= count,
            timeout,
            f"{count} requests to {path or 'any path'}",
        ) and self.requests(path)

    # -- the server ---------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, reuse_address=True)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        handlers = asyncio.all_tasks(self._loop)
        for task in handlers:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*handlers, return_exceptions=True))
        # Closing a transport finishes on a later loop iteration: let those run, or the
        # sockets stay open (a ResourceWarning in whatever test collects them).
        self._loop.run_until_complete(asyncio.sleep(0.05))
        self._loop.close()

    def _reply_for(self, path: str) -> Reply:
        with self._lock:
            queued = self._scripts.get(path)
            if queued:
                return queued.popleft()
            return self._paths.get(path, self.default)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                with self._lock:
                    self._received.append(Received(method, target, headers, body, time.monotonic()))
                reply = self._reply_for(target)
                with self._lock:
                    self._in_flight[target] += 1
                    self.max_in_flight[target] = max(
                        self.max_in_flight[target], self._in_flight[target]
                    )
                try:
                    await asyncio.sleep(reply.delay)
                finally:
                    with self._lock:
                        self._in_flight[target] -= 1
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
                    f"content-length: {len(reply.body)}\r\n{extra}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
                if reply.close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def wait_until(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> bool:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached in time: {what}"
        time.sleep(0.02)
    return True


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port that refuses connections: bound but not listening, and held until the block
    ends (a port merely closed could be taken by a parallel test's receiver)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])
