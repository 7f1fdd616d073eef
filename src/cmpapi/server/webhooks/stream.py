"""The event streams' shared poller: one per API process (``EventHub``), however many
streams (``GET /ext/v1/events/stream``, docs/webhooks.md "Streaming events") are open.

While a stream is open the hub reads the outbox rows of the organizations that have
streams and hands each new row, with its webhook body built once, to their streams.
Reads happen when a commit wakes it - commits of this process (the waker the delivery
engines use), ``NOTIFY cmpapi_webhooks`` on PostgreSQL (other processes), SQLite's
``data_version`` (other processes, checked every 0.1 s) - and every
``event_stream_poll_interval`` seconds regardless.

An outbox row's ``created_at`` is taken when the service records the event, before its
transaction commits, so rows do not commit in ``created_at`` order: a row may appear
behind one already seen. Every poll therefore looks ``LATE_WINDOW`` back and remembers
the ids it has seen within it; a row committed later than that after it was recorded is
not streamed (no transaction of this code base stays open that long after recording).

The hub stops ``IDLE_STOP`` seconds after its last stream closed (its PostgreSQL
``LISTEN`` connection with it), and ends every stream when the server shuts down: uvicorn
waits for open responses before it ends, so the hub watches the server's exit flag itself
(``stream_signals.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, or_, select

from cmpapi.server.db.runner import DbRunner
from cmpapi.server.errors import RateLimited
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import trigger
from cmpapi.server.webhooks.fanout import OUTBOX, body_of
from cmpapi.server.webhooks.stream_signals import ChangeProbe, server_exit_flag

log = logging.getLogger("cmpapi.webhooks")

LATE_WINDOW = timedelta(seconds=5)  # how long after recording an event may commit
QUEUE_LIMIT = 1000  # events a stream may fall behind before it re-reads the outbox
IDLE_STOP = 30.0  # seconds without streams before the hub stops
PAGE = 500  # outbox rows per read
CHECK_EVERY = 0.1  # seconds between checks of the exit flag and SQLite's data_version


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One outbox row as streamed: its id, name, time and the webhook body."""

    id: str
    org_id: str
    event_name: str
    created_at: datetime
    body: str


def stream_event(row: Any) -> StreamEvent:
    """An outbox row (id, org_id, event_name, data, created_at) as a ``StreamEvent``."""
    body = body_of(row.event_name, row.data)
    return StreamEvent(row.id, row.org_id, row.event_name, row.created_at, body)


def later_than(after: datetime, after_id: str | None) -> ColumnElement[bool]:
    """Outbox rows after ``after`` or, at that very time, after the id ``after_id``
    (keyset paging; ``None``: strictly after ``after``)."""
    at = OUTBOX.c.created_at
    if after_id is None:
        return at > after
    return or_(at > after, and_(at == after, OUTBOX.c.id > after_id))


def outbox_rows() -> Select[Any]:
    """The columns a stream needs, oldest first."""
    cols = (OUTBOX.c.id, OUTBOX.c.org_id, OUTBOX.c.event_name, OUTBOX.c.data)
    return select(*cols, OUTBOX.c.created_at).order_by(OUTBOX.c.created_at, OUTBOX.c.id)


def events_after(
    org_id: str, after: datetime, after_id: str | None, limit: int = PAGE
) -> Select[Any]:
    """A page of the organization's outbox rows after (``after``, ``after_id``)."""
    return outbox_rows().where(OUTBOX.c.org_id == org_id, later_than(after, after_id)).limit(limit)


class Subscriber:
    """One open stream's inbox: events of its organization, in the order the hub found
    them. ``signal`` is set whenever there is something to look at (an event, an
    overflow, the end)."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.queue: deque[StreamEvent] = deque()
        self.signal = asyncio.Event()
        self.overflowed = False  # events were dropped: the stream re-reads the outbox
        self.closed = False  # the server is shutting down
        self.ended = asyncio.Event()  # closed, or the client went
        self.joined = asyncio.Event()
        # What was committed when the stream opened (set when ``joined``): the floor below
        # which nothing is new, and the ids seen above it.
        self.floor = datetime.min.replace(tzinfo=UTC)
        self.baseline: list[tuple[datetime, str]] = []

    def offer(self, event: StreamEvent) -> None:
        if len(self.queue) >= QUEUE_LIMIT:
            self.queue.clear()
            self.overflowed = True
        else:
            self.queue.append(event)
        self.signal.set()

    def take(self) -> list[StreamEvent]:
        """The queued events (the queue is emptied)."""
        events = list(self.queue)
        self.queue.clear()
        return events

    def close(self) -> None:
        """The server is shutting down: the stream ends."""
        self.closed = True
        self.end()

    def end(self) -> None:
        """The stream is to end (closed, or its client went)."""
        self.ended.set()
        self.signal.set()


@dataclass
class _Seen:
    """Outbox rows seen within the late window: id -> (created_at, org_id)."""

    rows: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    high: datetime | None = None  # the newest created_at seen

    def floor(self) -> datetime:
        """Rows at or below this time are not looked at any more."""
        top = self.high if self.high is not None else datetime.now(UTC)
        return top - LATE_WINDOW

    def add(self, created_at: datetime, event_id: str, org_id: str) -> None:
        self.rows[event_id] = (created_at, org_id)
        if self.high is None or created_at > self.high:
            self.high = created_at

    def prune(self) -> None:
        floor = self.floor()
        self.rows = {k: v for k, v in self.rows.items() if v[0] > floor}

    def of(self, org_id: str) -> list[tuple[datetime, str]]:
        return sorted((at, k) for k, (at, org) in self.rows.items() if org == org_id)


class EventHub:
    """The app's event streams: subscriptions per organization and the poller feeding
    them (started with the first stream, stopped ``IDLE_STOP`` s after the last)."""

    def __init__(self, engine: Engine, runner: DbRunner, settings: Settings) -> None:
        self.engine = engine
        self.runner = runner
        self.max_per_org = settings.event_stream_max_per_org
        self.poll_interval = settings.event_stream_poll_interval
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.closed = False
        self._run: _Run | None = None
        self._exit_flag: Callable[[], bool] | None = None

    def count(self, org_id: str) -> int:
        """Open streams of the organization in this process."""
        return len(self.subscribers.get(org_id, ()))

    async def subscribe(self, org_id: str) -> Subscriber:
        """A new stream of the organization's events, once the hub knows what was
        committed before it (``Subscriber.floor`` and ``baseline``). 429 beyond
        ``event_stream_max_per_org``."""
        if self.count(org_id) >= self.max_per_org:
            raise RateLimited(
                5, f"Too many event streams for this organization (at most {self.max_per_org})"
            )
        sub = Subscriber(org_id)
        self.subscribers.setdefault(org_id, set()).add(sub)
        if self.closed:
            sub.close()
            return sub
        run = self._run
        if run is None or run.stopping:
            run = self._run = _Run(self)
            run.start()
        try:
            run.admit(sub)
            await sub.joined.wait()
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.subscribers.get(sub.org_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subscribers[sub.org_id]

    def exiting(self) -> bool:
        """Whether the server is shutting down (the exit flag found at start)."""
        if self._exit_flag is None:
            self._exit_flag = server_exit_flag() or (lambda: False)
        return self._exit_flag()

    async def close(self) -> None:
        """End every stream, now and from now on, and stop the poller."""
        self.closed = True
        for subs in self.subscribers.values():
            for sub in subs:
                sub.close()
        run, self._run = self._run, None
        if run is not None:
            await run.stop()

    def forget(self, run: _Run) -> None:
        if self._run is run:
            self._run = None


class _Run:
    """One life of the poller: its task, its wake-ups and what it has seen."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.seen = _Seen()
        self.orgs: set[str] = set()  # organizations whose rows are read
        self.pending: list[Subscriber] = []
        self.stopping = False
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._waker: Callable[[], None] | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def waker() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
                loop.call_soon_threadsafe(self._wake.set)

        self._waker = waker
        trigger.add_waker(waker)
        engine = self.hub.engine
        self._tasks = [
            asyncio.create_task(self._loop(), name="event streams"),
            asyncio.create_task(trigger.listen(engine, self._wake.set, self._stop)),
        ]

    def admit(self, sub: Subscriber) -> None:
        self.pending.append(sub)
        self._wake.set()

    async def stop(self) -> None:
        self.stopping = True
        self._stop.set()
        self._wake.set()
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in self._tasks if t is not current))

    async def _loop(self) -> None:
        try:
            probe = ChangeProbe.of(self.hub.engine)
        except Exception:  # polls and this process's commits still wake the streams
            log.exception("event streams: cannot watch SQLite's data_version")
            probe = ChangeProbe()
        next_poll = 0.0
        idle_since: float | None = None
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), CHECK_EVERY)
                woke = self._wake.is_set()
                self._wake.clear()
                if self.hub.exiting():
                    await self.hub.close()
                    return
                now = time.monotonic()
                if self.hub.subscribers or self.pending:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since > IDLE_STOP:
                    return
                polling = now >= next_poll
                if polling:
                    next_poll = now + self.hub.poll_interval
                if woke or polling or probe.changed():
                    await self._step(full=polling)
        finally:
            self.stopping = True
            self.hub.forget(self)
            for sub in self.pending:  # a shutdown or a failure: their clients reconnect
                sub.close()
                sub.joined.set()
            if self._waker is not None:
                trigger.remove_waker(self._waker)
            self._stop.set()  # the LISTEN task ends within a quarter of a second
            probe.close()

    async def _step(self, full: bool) -> None:
        """Read new rows (``full``: the whole late window), then let new streams start:
        what this read found committed is their baseline (rows handed to them meanwhile
        are in it, so they are not sent), what the next read finds is theirs."""
        pending, self.pending = self.pending, []
        try:
            await self._watch({s.org_id for s in pending} - self.orgs)
            # Organizations whose streams all closed are not read any more.
            self.orgs &= set(self.hub.subscribers)
            if self.orgs:
                orgs, read = sorted(self.orgs), self.hub.runner.read
                if full:
                    floor, seen = self.seen.floor(), set(self.seen.rows)
                    rows = await read(self._read_window, orgs, floor, seen)
                else:
                    rows = await read(self._read_newest, orgs, self.seen.high or self.seen.floor())
                self._dispatch(rows)
            if full:
                self.seen.prune()
        except Exception:  # a database hiccup must not end the streams; the next poll retries
            log.exception("event streams: reading the outbox failed")
            self.pending = pending + self.pending
            return
        floor = self.seen.floor()
        for sub in pending:
            sub.floor, sub.baseline = floor, self.seen.of(sub.org_id)
            sub.joined.set()

    async def _watch(self, orgs: set[str]) -> None:
        """Start reading the organizations' rows: those of the late window committed so
        far are seen (not new)."""
        if orgs:
            rows = await self.hub.runner.read(self._window_of, sorted(orgs), self.seen.floor())
            for created_at, event_id, org_id in rows:
                self.seen.add(created_at, event_id, org_id)
            self.orgs.update(orgs)

    def _window_of(self, orgs: list[str], floor: datetime) -> list[Any]:
        """(created_at, id, org_id) of the organizations' rows after ``floor``."""
        query = select(OUTBOX.c.created_at, OUTBOX.c.id, OUTBOX.c.org_id).where(
            OUTBOX.c.org_id.in_(orgs), OUTBOX.c.created_at > floor
        )
        with self.hub.engine.connect() as conn:
            return list(conn.execute(query))

    def _read_newest(self, orgs: list[str], since: datetime) -> list[Any]:
        """The organizations' rows from ``since`` (the newest seen) on: what a wake-up is
        for."""
        after, after_id = since, None
        rows: list[Any] = []
        with self.hub.engine.connect() as conn:
            while True:
                start = later_than(after, after_id) if after_id else OUTBOX.c.created_at >= after
                query = outbox_rows().where(OUTBOX.c.org_id.in_(orgs), start).limit(PAGE)
                page = list(conn.execute(query))
                rows += page
                if len(page) < PAGE:
                    return rows
                after, after_id = page[-1].created_at, page[-1].id

    def _read_window(self, orgs: list[str], floor: datetime, seen: set[str]) -> list[Any]:
        """The organizations' rows after ``floor`` (the late window) that were not seen
        yet (ids first: the seen ones are not read again)."""
        in_window = (OUTBOX.c.org_id.in_(orgs), OUTBOX.c.created_at > floor)
        with self.hub.engine.connect() as conn:
            ids = conn.execute(select(OUTBOX.c.id).where(*in_window)).scalars()
            unseen = [i for i in ids if i not in seen]
            rows: list[Any] = []
            for start in range(0, len(unseen), PAGE):
                chunk = unseen[start : start + PAGE]
                rows += conn.execute(outbox_rows().where(OUTBOX.c.id.in_(chunk)))
        return rows

    def _dispatch(self, rows: Iterable[Any]) -> None:
        for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
            if row.id in self.seen.rows:
                continue
            self.seen.add(row.created_at, row.id, row.org_id)
            subs = self.hub.subscribers.get(row.org_id)
            if subs:
                event = stream_event(row)
                for sub in subs:
                    sub.offer(event)
