"""``GET /ext/v1/events/stream``: the organization's events as server-sent events, each
with the body a webhook delivery of it carries (what ``cmpapi listen`` forwards; docs/
webhooks.md "Streaming events"). Admins and apps acting as one; the streams of a process
share one poller (``stream.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.applications import FastAPI
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from cmpapi.server.authz import Principal, require
from cmpapi.server.errors import BadRequest
from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.query import query
from cmpapi.server.http.router import Router
from cmpapi.server.webhooks.stream import PAGE, EventHub, StreamEvent, Subscriber, events_after
from cmpapi.server.webhooks.stream import stream_event as as_stream_event
from cmpapi.server.webhooks.stream_cursor import (
    MICROSECOND,
    Position,
    decode_cursor,
    message,
    sent_before,
)

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: event streams"])

RETRY_MS = 2000  # the reconnection delay suggested to EventSource clients
GRACE = 1.0  # seconds a stream told to end may take before it is cut
HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
KEEPALIVE = b": keepalive\n\n"
CLOSING = b": closing: the server is shutting down\n\n"


class StreamQuery(BaseModel):
    """``since`` (ISO 8601 with zone) or ``cursor`` (an ``id`` a stream sent) replays what
    was recorded after it; ``event_name`` (repeatable) keeps only those events."""

    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = None
    cursor: str | None = None
    event_name: list[str] | None = None


def event_hub(app: FastAPI) -> EventHub:
    """The app's hub (``create_app`` makes it)."""
    hub: EventHub = app.state.event_hub
    return hub


def _authorize(_session: Session, principal: Principal) -> str:
    require(principal, "webhooks:read")
    return principal.org_id


@dataclass(frozen=True, slots=True)
class Start:
    """Where a replay starts: the floor, the ids a cursor names as sent, and the cursor
    itself (the stream's opening ``id``: a client reconnecting before any event resumes
    where it asked to)."""

    floor: datetime
    skip: frozenset[bytes] = frozenset()
    cursor: str | None = None


def starting_point(last_event_id: str | None, params: StreamQuery) -> Start | None:
    """Where a replay starts, or None for "from now on". ``Last-Event-ID`` (a reconnecting
    client's) wins over the query."""
    if params.since is not None and params.cursor is not None:
        raise BadRequest("Give since or cursor, not both", {"cursor": "Given with since"})
    for name, value in (("Last-Event-ID", last_event_id), ("cursor", params.cursor)):
        if value:
            try:
                floor, skip = decode_cursor(value)
            except ValueError:
                raise BadRequest("Invalid cursor", {name: "Not a cursor of this server"}) from None
            return Start(floor, skip, value.strip())
    if params.since is not None:
        return Start(params.since - MICROSECOND)
    return None


def event_filter(names: list[str] | None) -> frozenset[str] | None:
    """The event names a stream keeps (None: all); 400 naming unknown ones."""
    if not names:
        return None
    unknown = sorted(set(names) - EVENT_NAMES)
    if unknown:
        raise BadRequest("Unknown event name", {"event_name": f"Unknown: {', '.join(unknown)}"})
    return frozenset(names)


@router.get(
    "/events/stream",
    operation_id="extStreamEvents",
    response_class=Response,
    responses=error_responses(400, 401, 403),
)
async def stream_events(
    request: Request, api: ApiDep, params: Annotated[StreamQuery, Depends(query(StreamQuery))]
) -> Response:
    """The organization's events as they are recorded (``text/event-stream``)."""
    org_id = await api.call(_authorize)
    start = starting_point(request.headers.get("last-event-id"), params)
    names = event_filter(params.event_name)
    hub = event_hub(request.app)
    heartbeat: float = request.app.state.settings.event_stream_heartbeat
    sub = await hub.subscribe(org_id)
    return EventStream(hub, sub, Replay(hub, start, names), heartbeat)


class Replay:
    """A stream's position and what it sends: a catch-up from the outbox (a cursor's,
    ``since``'s, or after falling behind) and the live events, each once."""

    def __init__(
        self,
        hub: EventHub,
        start: Start | None,
        names: frozenset[str] | None,
    ) -> None:
        self.hub = hub
        self.start = start
        self.names = names
        self.position = Position(datetime.max.replace(tzinfo=UTC))  # set by ``open``
        self.skip: frozenset[bytes] = frozenset()  # a resumed cursor's: sent before

    def open(self, sub: Subscriber) -> str:
        """Start where the query said, or (no replay) where the hub found the outbox; the
        opening cursor."""
        if self.start is None:
            self.position = Position(sub.floor, sub.baseline)
            return self.position.cursor()
        self.position = Position(self.start.floor)
        self.skip = self.start.skip
        return self.start.cursor or self.position.cursor()

    def pick(self, event: StreamEvent) -> bytes | None:
        """The message of an event to send, or None (sent before, or filtered out)."""
        position = self.position
        if event.id in position:
            return None
        if self.skip and sent_before(self.skip, event.id):
            position.add(event.created_at, event.id)
            return None
        if self.names is not None and event.event_name not in self.names:
            return None
        position.add(event.created_at, event.id)
        return message(position.cursor(), event)

    async def pages(self, org_id: str) -> AsyncIterator[list[StreamEvent]]:
        """The organization's outbox rows above the position's floor, page by page."""
        after, after_id = self.position.floor, None
        while True:
            rows = await self.hub.runner.read(self._page, org_id, after, after_id)
            yield [as_stream_event(r) for r in rows]
            if len(rows) < PAGE:
                self.skip = frozenset()  # the resumed cursor's events are all behind
                return
            after, after_id = rows[-1].created_at, rows[-1].id

    def _page(self, org_id: str, after: datetime, after_id: str | None) -> list[Any]:
        with self.hub.engine.connect() as conn:
            return list(conn.execute(events_after(org_id, after, after_id)))


class EventStream(Response):
    """The ``text/event-stream`` answer of one stream: it ends when the client goes, when
    the server shuts down, or (cut after ``GRACE``) when a client that stopped reading is
    told either."""

    media_type = "text/event-stream"

    def __init__(self, hub: EventHub, sub: Subscriber, replay: Replay, heartbeat: float):
        # Not Response.__init__: it would give the empty body a content-length of 0.
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self.hub, self.sub, self.replay, self.heartbeat = hub, sub, replay, heartbeat
        self.gone = False  # the client disconnected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send))
        watchers = {
            asyncio.create_task(self._watch(receive)),
            asyncio.create_task(self.sub.ended.wait()),
        }
        try:
            await asyncio.wait({pump, *watchers}, return_when=asyncio.FIRST_COMPLETED)
            if not pump.done():  # told to end: the pump notices at once...
                await asyncio.wait({pump}, timeout=GRACE)
            if not pump.done():  # ...unless stuck writing to a client that reads nothing
                pump.cancel()
        finally:
            for task in watchers:
                task.cancel()
            self.hub.unsubscribe(self.sub)
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True
        self.sub.end()

    def _ended(self) -> bool:
        return self.gone or self.sub.closed

    async def _pump(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        opening = self.replay.open(self.sub)
        await write(f"retry: {RETRY_MS}\nid: {opening}\n\n".encode())
        if self.replay.start is not None:
            await self._catch_up(write)
        await self._live(write)
        if self.sub.closed and not self.gone:
            await write(CLOSING)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _catch_up(self, write: Any) -> None:
        async for events in self.replay.pages(self.sub.org_id):
            for event in events:
                if self._ended():
                    return
                chunk = self.replay.pick(event)
                if chunk is not None:
                    await write(chunk)

    async def _live(self, write: Any) -> None:
        beat_at = time.monotonic() + self.heartbeat
        while not self._ended():
            self.sub.signal.clear()
            if self.sub.overflowed:  # events were dropped: read them from the outbox
                self.sub.overflowed = False
                await self._catch_up(write)
            for event in self.sub.take():
                chunk = self.replay.pick(event)
                if chunk is not None:
                    await write(chunk)
            wait = beat_at - time.monotonic()
            if wait <= 0:
                await write(KEEPALIVE)
                beat_at = time.monotonic() + self.heartbeat
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sub.signal.wait(), wait)
