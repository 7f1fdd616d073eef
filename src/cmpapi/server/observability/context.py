"""The request id (and organization) of the work being done, for every log line.

A request sets a ``RequestInfo`` in a context variable for its whole life (the ``Observe``
middleware). Context variables follow the work into threads (``anyio.to_thread`` and
``asyncio.to_thread`` copy the context), and ``RequestInfo`` is mutable, so what a thread
learns (the caller's organization, once the token is looked up) is seen by the middleware
when it writes the request's log line. Jobs and webhook deliveries store the request id of
the request that caused them and set it again while they run (``bind``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Request ids a client may choose: bounded, and only characters that cannot break a log
# line, a header or a Prometheus label (UUIDs, ULIDs, W3C trace ids, AWS "Root=1-..." ids).
MAX_REQUEST_ID = 128
_SANE = re.compile(rb"[A-Za-z0-9._:=+/@-]{1,128}")


class RequestInfo:
    """What the log knows about the current unit of work."""

    __slots__ = ("org_id", "request_id")

    def __init__(self, request_id: str, org_id: str | None = None) -> None:
        self.request_id = request_id
        self.org_id = org_id


CURRENT: ContextVar[RequestInfo | None] = ContextVar("cmpapi_request", default=None)


def current() -> RequestInfo | None:
    """The current request's (or job's, or delivery's) info, if any."""
    return CURRENT.get()


def current_request_id() -> str | None:
    """The request id of the current unit of work, if any."""
    info = CURRENT.get()
    return info.request_id if info is not None else None


def note_org(org_id: str) -> None:
    """Record the caller's organization once it is known (the bearer token's)."""
    info = CURRENT.get()
    if info is not None:
        info.org_id = org_id


def new_request_id() -> str:
    """A fresh id: 32 hex digits (a UUID's worth of randomness)."""
    return os.urandom(16).hex()


def sane_request_id(raw: bytes) -> str | None:
    """The client's ``X-Request-Id`` if it is safe to log and echo, else None."""
    if len(raw) <= MAX_REQUEST_ID and _SANE.fullmatch(raw):
        return raw.decode("ascii")
    return None


@contextmanager
def bind(request_id: str | None, org_id: str | None = None) -> Iterator[RequestInfo | None]:
    """Run a block as part of ``request_id``'s work (a job, a webhook delivery)."""
    if request_id is None:
        yield None
        return
    info = RequestInfo(request_id, org_id)
    token = CURRENT.set(info)
    try:
        yield info
    finally:
        CURRENT.reset(token)
