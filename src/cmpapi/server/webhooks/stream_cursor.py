"""Where an event stream is in the outbox (``Position``), the opaque cursor that says so
(each message's SSE ``id``, sent back as ``Last-Event-ID`` to resume), and the messages.

Outbox rows commit out of ``created_at`` order (see ``stream.py``), so "after the last
event sent" is not a time alone. A cursor names a floor - everything recorded at or
before it was sent or is not coming - and the events above the floor the stream has
sent (the first 8 characters of their ids). Resuming sends every row above the floor
that is not one of those. The floor trails the newest event sent by ``LATE_WINDOW``; a
cursor names at most ``CURSOR_IDS`` events, raising its floor when more were sent within
the window (a late commit older than that floor is then not resent).
"""

from __future__ import annotations

import base64
import bisect
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cmpapi.server.webhooks.stream import LATE_WINDOW, StreamEvent

VERSION = 1
PREFIX = 8  # characters of an event id a cursor keeps
CURSOR_IDS = 32  # events a cursor names at most
REMEMBER = 60.0  # seconds an id sent stays known (the live queue may repeat a catch-up)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{12,1000}")
MICROSECOND = timedelta(microseconds=1)


def _prefix(event_id: str) -> bytes:
    return event_id.encode()[:PREFIX].ljust(PREFIX, b"\0")


def encode_cursor(floor: datetime, ids: Iterable[str]) -> str:
    """The opaque cursor of ``floor`` and the ids sent above it."""
    raw = bytes([VERSION]) + ((floor - EPOCH) // MICROSECOND).to_bytes(8, "big", signed=True)
    raw += b"".join(_prefix(i) for i in ids)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str) -> tuple[datetime, frozenset[bytes]]:
    """The floor and id prefixes of a cursor; ValueError if it is not one."""
    value = value.strip()
    # Only base64url characters (b64decode would skip others): a cursor is echoed back in
    # the stream, where a line break would start a field of its own.
    if not _CURSOR.fullmatch(value):
        raise ValueError("not a cursor")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise ValueError("not a cursor") from None
    if len(raw) < 9 or raw[0] != VERSION or (len(raw) - 9) % PREFIX:
        raise ValueError("not a cursor")
    try:
        floor = EPOCH + int.from_bytes(raw[1:9], "big", signed=True) * MICROSECOND
    except OverflowError:
        raise ValueError("not a cursor") from None
    prefixes = frozenset(raw[i : i + PREFIX] for i in range(9, len(raw), PREFIX))
    return floor, prefixes


class Position:
    """What a stream has sent: the floor, the events above it (for the cursor), and every
    id sent in the last ``REMEMBER`` seconds (so nothing goes out twice)."""

    def __init__(self, floor: datetime, seen: Iterable[tuple[datetime, str]] = ()) -> None:
        self.floor = floor
        self.recent: list[tuple[datetime, str]] = []  # above the floor, oldest first
        self.sent: OrderedDict[str, float] = OrderedDict()
        for created_at, event_id in seen:
            self.add(created_at, event_id)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.sent

    def add(self, created_at: datetime, event_id: str) -> None:
        """Note an event as sent (or, at the start, as committed before the stream)."""
        now = time.monotonic()
        self.sent[event_id] = now
        while self.sent and next(iter(self.sent.values())) < now - REMEMBER:
            self.sent.popitem(last=False)
        if created_at <= self.floor:  # a late commit: sent, nothing to remember
            return
        bisect.insort(self.recent, (created_at, event_id))
        floor = self.recent[-1][0] - LATE_WINDOW
        if floor > self.floor:
            self.floor = floor
            del self.recent[: bisect.bisect_right(self.recent, floor, key=lambda e: e[0])]

    def cursor(self) -> str:
        """The cursor resuming after everything sent so far."""
        if len(self.recent) <= CURSOR_IDS:
            return encode_cursor(self.floor, (i for _, i in self.recent))
        floor = self.recent[-CURSOR_IDS - 1][0]
        return encode_cursor(floor, (i for _, i in self.recent[-CURSOR_IDS:]))


def sent_before(prefixes: frozenset[bytes], event_id: str) -> bool:
    """Whether a resumed cursor names the event as sent."""
    return _prefix(event_id) in prefixes


def message(cursor: str, event: StreamEvent) -> bytes:
    """One SSE message: the cursor, the event name, the event's id (a delivery's
    ``webhook-id``) and the webhook body (one line: JSON never holds a raw newline)."""
    return (
        f"id: {cursor}\nevent: {event.event_name}\nwebhook-id: {event.id}\ndata: {event.body}\n\n"
    ).encode()
