"""The delivery engine: one asyncio loop per worker that fans events out, claims due
deliveries, POSTs them and records the results.

It runs as the ``webhooks.dispatch`` job (``trigger.py`` enqueues one with every
transaction that records events), at most one per worker (``concurrency=1``): a worker
that picks up the job delivers until it has had nothing to do for ``IDLE_EXIT`` seconds,
leaves a job for the next due retry, and ends. Meanwhile the job holds one worker slot;
the requests themselves are asyncio tasks, many per worker:

- at most ``webhook_concurrency_per_webhook`` requests in flight per webhook and
  ``webhook_max_in_flight`` in all, so a slow or dead receiver holds a few tasks, never
  the worker;
- deliveries are claimed in batches under a lease the engine renews; a worker killed with
  ``kill -9`` loses nothing: its leases lapse and any engine's reaper queues them again
  (the attempt then counts, and may be a duplicate for the receiver);
- no transaction is open while a request is in flight; results are written in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from cmpapi.server.db.runner import DbRunner
from cmpapi.server.jobs import JobContext, job_handler
from cmpapi.server.jobs.schedules import parse_schedule
from cmpapi.server.jobs.tables import now
from cmpapi.server.observability import context as request_context
from cmpapi.server.observability import metrics
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import claim, fanout, queue, trigger
from cmpapi.server.webhooks.batcher import Batcher
from cmpapi.server.webhooks.client import DeliveryClient, ssl_context
from cmpapi.server.webhooks.queue import Batch, Claimed, Outcome, Result, Target
from cmpapi.server.webhooks.results import record_results
from cmpapi.server.webhooks.sender import describe, send
from cmpapi.server.webhooks.ssrf import Resolver, Targets, check_callback_url, system_resolver
from cmpapi.server.webhooks.tables import FAILED, PENDING, SUCCEEDED

log = logging.getLogger("cmpapi.webhooks")
# One line per attempt, naming the request behind the event (docs/operations.md#logs).
delivery_log = logging.getLogger("cmpapi.webhooks.delivery")
# cmpapi_webhook_deliveries_total{outcome}: a delivery's status after an attempt.
OUTCOMES = {SUCCEEDED: "succeeded", PENDING: "retrying", FAILED: "failed"}

ENGINE_TIMEOUT = 10 * 365 * 86400.0  # the job ends when idle, not on a clock
IDLE_EXIT = 2.0  # seconds without work before the engine ends (at least 2 polls)
FANOUT_BATCH = 500
CLAIM_BATCH = 200
HOLD_FACTOR = 16  # deliveries held per webhook: its concurrency x this (half when claiming)
SWEEP_EVERY = 1.0
PRUNE_EVERY = 600.0
WRITE_TRIES = 5
# Results wait this long for others to share their commit: the log and retries lag a
# little, receivers do not (measured: 4 results a commit without it, under load).
RESULTS_LINGER = 0.05


class DeliveryEngine:
    """Delivers webhooks for one worker until idle or ``should_stop()``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        worker_id: str,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.worker_id = worker_id
        self._should_stop = should_stop
        self._resolver = resolver
        self._schedule = parse_schedule(settings.webhook_retry_schedule)
        self._max_attempts = len(self._schedule) + 1
        self._disable_after = settings.webhook_disable_after or sum(self._schedule)
        self._per_webhook = settings.webhook_concurrency_per_webhook
        self._hold_per_webhook = self._per_webhook * HOLD_FACTOR
        self._low_water = self._hold_per_webhook // 2
        self._hold_cap = settings.webhook_max_in_flight * 2
        self._idle_exit = max(IDLE_EXIT, 2 * settings.webhook_poll_interval)
        self._db = DbRunner(inline=False, max_threads=2)
        self._queues: dict[str, deque[Claimed]] = {}
        self._targets: dict[str, Target] = {}
        self._refusals: dict[str, str | None] = {}
        self._active: Counter[str] = Counter()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._unrecorded: set[str] = set()
        self._wake = asyncio.Event()
        self._events_hint = True  # look at the outbox first thing
        self._claim_wanted = True
        self._maybe_more = True
        self._next = {"poll": 0.0, "reap": 0.0, "sweep": 0.0, "prune": 0.0}
        self._rotation = 0
        # A client (connection pool) per webhook: each keeps its receiver's connections.
        self._clients: dict[str, DeliveryClient] = {}
        self._ssl: ssl.SSLContext | None = None
        self._results: Batcher[Result] = Batcher(self._write_results, RESULTS_LINGER)

    # -- lifecycle ----------------------------------------------------------------------

    def wake(self) -> None:
        """Wake the loop (from the loop's thread)."""
        self._wake.set()

    def _on_events(self) -> None:
        self._events_hint = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until idle (then leave a job for the next due retry) or told to stop
        (then give back what was not attempted)."""
        loop = asyncio.get_running_loop()

        def waker() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(self._on_events)

        trigger.add_waker(waker)
        self._ssl = ssl_context()
        self._results.start()
        stop_listening = asyncio.Event()
        listener = asyncio.create_task(trigger.listen(self.engine, waker, stop_listening))
        renewer = asyncio.create_task(self._renew_leases())
        stopped = False  # cancelled: the worker queues this job again itself
        try:
            stopped = await self._loop()
        finally:
            trigger.remove_waker(waker)
            stop_listening.set()
            await self._wind_down(graceful=stopped)  # leases still renewed meanwhile
            renewer.cancel()
            await asyncio.gather(listener, renewer, return_exceptions=True)
            await asyncio.gather(*(c.aclose() for c in self._clients.values()))

    async def _loop(self) -> bool:
        """Rounds until idle long enough (False) or told to stop (True)."""
        idle_since: float | None = None
        while not self._should_stop():
            self._wake.clear()
            clock = time.monotonic()
            polled = clock >= self._next["poll"]
            if polled:
                self._next["poll"] = clock + self.settings.webhook_poll_interval
            try:
                found = await self._round(polled)
                await self._housekeeping(clock)
            except Exception:
                # The database restarted or a lock timed out: try again next poll.
                log.exception("webhook engine %s: round failed", self.worker_id)
                found = True
            self._start_sends()
            if found or self._busy():
                idle_since = None
            elif idle_since is None:
                idle_since = clock
            elif clock - idle_since >= self._idle_exit and await self._may_exit():
                return False
            await self._sleep()
        return True

    async def _sleep(self) -> None:
        timeout = max(0.0, self._next["poll"] - time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _busy(self) -> bool:
        return bool(self._tasks or self._unrecorded or any(self._queues.values()))

    async def _may_exit(self) -> bool:
        """The last look before ending: sweep redundant dispatch jobs, then a full round.
        Only if that finds nothing does the engine end, leaving a job for later work: any
        event committed before the sweep is seen by that round; any after it has its own
        job, which the sweep did not touch."""
        older = 2 * self.settings.worker_poll_interval
        await self._db.run(trigger.drop_redundant, self.engine, older)
        await self._db.run(queue.reap, self.engine)
        if await self._round(polled=True) or self._busy():
            return False
        when = await self._db.run(queue.next_wakeup, self.engine)
        if when is not None:
            at = max(when, now()) + timedelta(milliseconds=50)
            await self._db.run(trigger.schedule_dispatch, self.engine, "retry", at)
        return True

    async def _wind_down(self, graceful: bool) -> None:
        """Give back held deliveries; let requests in flight finish for a while (when
        stopping gracefully), cancel the rest; write every result."""
        held = [d.id for q in self._queues.values() for d in q]
        self._queues.clear()
        if self._tasks and graceful:
            grace = min(self.settings.worker_shutdown_timeout / 2, self.settings.webhook_timeout)
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        interrupted = list(self._tasks)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self._results.close()
        released = await self._db.run(
            queue.release, self.engine, self.worker_id, held + interrupted
        )
        if graceful and (released or await self._db.run(self._work_left)):
            # The worker is stopping: leave a job so the next worker start resumes.
            await self._db.run(trigger.schedule_dispatch, self.engine, "resume")

    def _work_left(self) -> bool:
        return fanout.has_undispatched(self.engine) or queue.next_wakeup(self.engine) is not None

    # -- database rounds ----------------------------------------------------------------

    def _holding(self, webhook_id: str) -> int:
        queued = self._queues.get(webhook_id)
        return (len(queued) if queued else 0) + self._active[webhook_id]

    def _room(self) -> int:
        return self._hold_cap - sum(len(q) for q in self._queues.values()) - len(self._tasks)

    async def _round(self, polled: bool) -> bool:
        """Fan out new events and claim due deliveries as room allows; True if any."""
        hinted, self._events_hint = self._events_hint, False
        found = False
        if hinted or (polled and await self._db.run(fanout.has_undispatched, self.engine)):
            found = await self._fan_out()
        if self._room() > 0 and (self._claim_wanted or polled):
            found = await self._claim() or found
        return found

    async def _fan_out(self) -> bool:
        """Dispatch new events; the deliveries leased to us start at once (latency)."""
        found = False
        for _ in range(4):  # a bounded burst: results and claims must get their turn
            offer = fanout.Offer(
                self.worker_id,
                self.settings.webhook_lease_seconds,
                self._room(),
                self._hold_per_webhook,
                {w: self._holding(w) for w in self._queues},
            )
            taken, batch = await self._db.run(
                fanout.fan_out, self.engine, FANOUT_BATCH, self._max_attempts, offer
            )
            self._accept(batch)
            self._start_sends()
            found = found or taken > 0
            if batch.pending:  # no room for all of them: a claim takes the rest later
                self._claim_wanted = self._maybe_more = True
            if taken < FANOUT_BATCH:
                break
        return found

    async def _claim(self) -> bool:
        """Claim due deliveries of the webhooks this worker has room for, longest waiting
        first; a webhook holding ``low water`` or more is skipped this round."""
        self._claim_wanted = False
        due = await self._db.run(claim.due_webhooks, self.engine)
        wants: dict[str, int] = {}
        budget, skipped = self._room(), False
        for webhook_id, _due_at in due:
            holding = self._holding(webhook_id)
            want = min(self._hold_per_webhook - holding, budget)
            if holding >= self._low_water or want <= 0:
                skipped = True
                continue
            wants[webhook_id] = want
            budget -= want
        if not wants:
            self._maybe_more = skipped
            return False
        lease = self.settings.webhook_lease_seconds
        batch = await self._db.run(claim.claim, self.engine, self.worker_id, wants, lease)
        self._accept(batch)
        got = Counter(d.webhook_id for d in batch.deliveries)
        self._maybe_more = skipped or any(got[w] >= n for w, n in wants.items())
        return bool(batch.deliveries)

    def _accept(self, batch: Batch) -> None:
        self._targets.update(batch.targets)
        held = {d.id for q in self._queues.values() for d in q} | set(self._tasks)
        for delivery in batch.deliveries:
            # Our own lease lapsed (a stalled loop) and we claimed it back: one copy only.
            if delivery.id not in held:
                self._queues.setdefault(delivery.webhook_id, deque()).append(delivery)

    async def _housekeeping(self, clock: float) -> None:
        if clock >= self._next["reap"]:
            self._next["reap"] = clock + min(self.settings.webhook_lease_seconds / 2, 5.0)
            if await self._db.run(queue.reap, self.engine):
                self._claim_wanted = True
        if clock >= self._next["sweep"]:
            self._next["sweep"] = clock + SWEEP_EVERY
            older = 2 * self.settings.worker_poll_interval
            await self._db.run(trigger.drop_redundant, self.engine, older)
        if clock >= self._next["prune"]:
            self._next["prune"] = clock + PRUNE_EVERY
            before = now() - timedelta(seconds=self.settings.webhook_delivery_retention)
            await self._db.run(queue.prune, self.engine, before)

    async def _renew_leases(self) -> None:
        period = self.settings.webhook_lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            queued = {d.id for q in self._queues.values() for d in q}
            ids = queued | set(self._tasks) | self._unrecorded
            try:
                held = await self._db.run(
                    queue.extend_leases,
                    self.engine,
                    self.worker_id,
                    ids,
                    self.settings.webhook_lease_seconds,
                )
            except Exception:
                log.warning(
                    "webhook engine %s: renewing leases failed", self.worker_id, exc_info=True
                )
                continue
            lost = queued - held
            for webhook_id, deliveries in self._queues.items():  # another worker has them
                self._queues[webhook_id] = deque(d for d in deliveries if d.id not in lost)

    # -- sending ------------------------------------------------------------------------

    def _start_sends(self) -> None:
        """Start requests for held deliveries within the limits, round-robin over webhooks
        (from a rotating start, so none waits behind the others when slots are scarce)."""
        limit = self.settings.webhook_max_in_flight
        progressed = True
        while progressed and len(self._tasks) < limit:
            progressed = False
            keys = list(self._queues)
            self._rotation = (self._rotation + 1) % max(len(keys), 1)
            for webhook_id in keys[self._rotation :] + keys[: self._rotation]:
                if len(self._tasks) >= limit:
                    return
                progressed = self._start_one(webhook_id) or progressed

    def _start_one(self, webhook_id: str) -> bool:
        queued = self._queues.get(webhook_id)
        if not queued or self._active[webhook_id] >= self._per_webhook:
            if queued is not None and not queued and not self._active[webhook_id]:
                del self._queues[webhook_id]
            return False
        delivery = queued.popleft()
        self._active[webhook_id] += 1
        # The task copies the context: its log lines name the request behind the event.
        with request_context.bind(delivery.request_id):
            self._tasks[delivery.id] = asyncio.create_task(self._deliver(delivery))
        return True

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            outcome = await self._attempt(delivery)
        finally:
            self._tasks.pop(delivery.id, None)
            self._active[delivery.webhook_id] -= 1
        result = queue.decide(
            delivery, outcome, self._schedule, self.settings.webhook_retry_after_max
        )
        _observe(delivery, result)
        self._unrecorded.add(delivery.id)
        self._results.add(result)
        self._after_send(delivery.webhook_id)

    async def _attempt(self, delivery: Claimed) -> Outcome:
        target = self._targets.get(delivery.webhook_id)
        if target is None:  # unreachable: claims load their targets
            return Outcome(now(), None, None, None, "webhook not found")
        if target.url not in self._refusals:
            self._refusals[target.url] = check_callback_url(target.url, self.settings)
        refusal = self._refusals[target.url]
        if refusal is not None:  # the settings changed since the URL was saved
            return Outcome(now(), 0, None, None, f"Blocked: {refusal}")
        try:
            client = self._client(delivery.webhook_id)
            return await send(client, target, delivery, self.settings.webhook_timeout)
        except Exception as exc:
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            return Outcome(now(), None, None, None, describe(exc))

    def _client(self, webhook_id: str) -> DeliveryClient:
        client = self._clients.get(webhook_id)
        if client is None:
            assert self._ssl is not None  # made when the engine starts
            client = DeliveryClient(Targets.of(self.settings), self._ssl, self._resolver)
            self._clients[webhook_id] = client
        return client

    def _after_send(self, webhook_id: str) -> None:
        if len(self._tasks) + 1 >= self.settings.webhook_max_in_flight:
            self._start_sends()  # slots are scarce: share the freed one
        else:
            self._start_one(webhook_id)
        want = self._holding(webhook_id) < self._low_water or self._room() >= self._hold_cap // 2
        if self._maybe_more and want and not self._claim_wanted:
            self._claim_wanted = True
            self._wake.set()

    async def _write_results(self, results: list[Result]) -> None:
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                disabled = await self._db.run(
                    record_results, self.engine, self.worker_id, results, self._disable_after
                )
                break
            except Exception:
                log.warning(
                    "webhook engine %s: writing %d results failed (try %d)",
                    self.worker_id,
                    len(results),
                    attempt,
                    exc_info=True,
                )
                await asyncio.sleep(0.2 * attempt)
        else:  # their leases lapse and they are sent again: duplicates, not losses
            disabled = set()
        self._unrecorded.difference_update(r.delivery.id for r in results)
        if disabled:
            await self._drop(disabled)

    async def _drop(self, webhook_ids: set[str]) -> None:
        """Stop sending to webhooks that were just disabled."""
        held = [d.id for w in webhook_ids for d in self._queues.pop(w, ())]
        for webhook_id in webhook_ids:
            self._targets.pop(webhook_id, None)
        await self._db.run(queue.fail_held, self.engine, self.worker_id, held, "webhook disabled")


def _observe(delivery: Claimed, result: Result) -> None:
    """The attempt's metrics and its log line."""
    outcome = OUTCOMES[result.status]
    metrics.delivery_attempt(outcome, result.outcome.latency_ms)
    answer = result.outcome.status_code or result.outcome.error
    delivery_log.info(
        "webhook delivery %s (%s) to webhook %s attempt %d: %s, %s in %s ms",
        delivery.id,
        delivery.event_name,
        delivery.webhook_id,
        delivery.attempts,
        outcome,
        answer,
        result.outcome.latency_ms,
    )


@job_handler(trigger.DISPATCH, timeout=ENGINE_TIMEOUT, concurrency=1)
async def dispatch(ctx: JobContext, payload: Any) -> None:
    """Run the delivery engine on this worker until it is idle (docs/webhooks.md)."""

    def should_stop() -> bool:
        return ctx.lease_lost or ctx.stopping.is_set()

    runner = DeliveryEngine(
        ctx.settings, ctx.resources.engine, ctx.worker_id, should_stop=should_stop
    )

    async def wake_on_stop() -> None:
        await ctx.stopping.wait()
        runner.wake()

    waiter = asyncio.create_task(wake_on_stop())
    try:
        await runner.run()
    finally:
        waiter.cancel()
