"""A real server-sent-events client for the event stream tests: httpx streaming in a thread
of its own, parsing messages as the WHATWG HTML standard reads them (fields up to a blank
line; lines starting with ``:`` are comments)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    """One SSE message: its fields (``id``, ``event``, ``webhook-id``, ``data``, ``retry``)
    and when it arrived."""

    fields: dict[str, str]
    at: float

    @property
    def event(self) -> str | None:
        return self.fields.get("event")


@dataclass
class Listener:
    """``GET url`` as a stream, read in a thread until ``close()`` or the server ends it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: Any = None
    messages: list[Message] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # of an error answer
    ended_at: float | None = None  # the server ended the stream
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._started = threading.Event()
        self._changed = threading.Condition()
        self._response: httpx.Response | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Listener:
        """Once the answer came and, if it is a stream, its opening message."""
        self._thread.start()
        assert self._started.wait(30), "no answer to the stream request"
        if self.status == 200:
            assert self.wait(lambda s: s.messages, timeout=30), "no opening message"
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            timeout = httpx.Timeout(30, read=None)
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream(
                    "GET", self.url, headers=self.headers, params=self.params
                ) as response,
            ):
                self._response = response
                self.status = response.status_code
                self.response_headers = dict(response.headers)
                if response.status_code != 200:
                    self.body = response.read()
                    return
                self._started.set()
                self._read(response)
                self.ended_at = time.monotonic()
        except Exception as exc:  # a close() from the test ends the read with an error
            if not self._closing:
                self.error = exc
        finally:
            self._started.set()
            with self._changed:
                self._changed.notify_all()

    def _read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if fields:
                    with self._changed:
                        self.messages.append(Message(fields, time.monotonic()))
                        self._changed.notify_all()
                fields = {}
            elif line.startswith(":"):
                with self._changed:
                    self.comments.append(line[1:].strip())
                    self._changed.notify_all()
            else:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value

    def events(self) -> list[Message]:
        """The messages that carry an event (not the opening one)."""
        with self._changed:
            return [m for m in self.messages if m.event is not None]

    def last_id(self) -> str:
        """The last ``id`` received (what an EventSource sends back as Last-Event-ID)."""
        with self._changed:
            return [m.fields["id"] for m in self.messages if "id" in m.fields][-1]

    def wait(self, condition: Any, timeout: float = 20) -> bool:
        """Until ``condition(self)`` holds (or the stream ends); whether it holds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return bool(condition(self))
                self._changed.wait(min(left, 0.1))
            return True

    def wait_events(self, count: int, timeout: float = 20) -> list[Message]:
        """The first ``count`` events, once they are there (fails otherwise)."""
        assert self.wait(lambda s: len(s.events()) >= count, timeout), (
            f"{len(self.events())} of {count} events: {self.error!r}"
        )
        return self.events()[:count]

    def wait_end(self, timeout: float = 20) -> bool:
        """Until the server ends the stream; whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Disconnect (as a client that goes away)."""
        self._closing = True
        if self._response is not None:
            # The reader thread is blocked in recv(): shutting the socket down wakes it.
            stream = self._response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            with contextlib.suppress(OSError):
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the stream reader did not stop"
