"""Prometheus metrics (``GET /metrics``, docs/operations.md#metrics).

Counted where things happen: requests (the ``Observe`` middleware), webhook delivery
attempts (the delivery engine), database pool checkouts (pool events). Read at scrape time
from the database: the job and webhook delivery queues, which every process shares.

Several processes (``cmpapi serve --workers N``): ``serve`` points the
``PROMETHEUS_MULTIPROC_DIR`` of every process it starts (the API processes and the job
worker) at one fresh directory, prometheus-client's multiprocess mode: each process writes
its samples there, and a scrape of any API process answers for all of them together -
counters and histograms summed over every process that ran since ``serve`` started, gauges
summed over the live ones. The mode is chosen when prometheus-client is imported, from
that variable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, event, func, select

from cmpapi.server.jobs.tables import JOBS, QUEUED, RUNNING, now
from cmpapi.server.webhooks.tables import DELIVERIES, DELIVERING, PENDING

log = logging.getLogger("cmpapi.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"  # the operation label of requests no route matched (404, 405)

# The *_created samples of every counter and histogram double the output for no use here.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds. The API answers most reads in a few milliseconds: finer buckets at the bottom.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "cmpapi_http_requests",
    "HTTP requests answered, by operation (the spec's operationId) and status",
    ["operation", "status"],
)
REQUEST_DURATION = Histogram(
    "cmpapi_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by operation",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
DELIVERIES_TOTAL = Counter(
    "cmpapi_webhook_deliveries",
    "Webhook delivery attempts by outcome: succeeded, retrying (failed, tried again later), "
    "failed (failed for good: last attempt, 410 Gone)",
    ["outcome"],
)
DELIVERY_OUTCOMES = ("succeeded", "retrying", "failed")
for _outcome in DELIVERY_OUTCOMES:  # every series from the start: rate() needs a first 0
    DELIVERIES_TOTAL.labels(_outcome)
DELIVERY_DURATION = Histogram(
    "cmpapi_webhook_delivery_duration_seconds",
    "Time a receiver took to answer a delivery attempt (attempts that got no answer: "
    "until the error)",
    buckets=DELIVERY_BUCKETS,
)
POOL_CHECKED_OUT = Gauge(
    "cmpapi_db_pool_checked_out",
    "Database connections in use, by pool (api: requests; worker: jobs)",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "cmpapi_db_pool_size",
    "Database connections a pool may hold, by pool",
    ["pool"],
    multiprocess_mode="livesum",
)


def multiprocess() -> bool:
    """Whether this process writes its samples to a shared directory."""
    return bool(os.environ.get(MULTIPROC_ENV))


class RequestMetrics:
    """The request metrics' children per (operation, status), looked up once: ``labels()``
    costs a lock and a tuple hash per call, the hot path can do without."""

    __slots__ = ("_children",)

    def __init__(self) -> None:
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, operation: str, status: int, seconds: float) -> None:
        children = self._children.get((operation, status))
        if children is None:
            children = (
                REQUESTS.labels(operation, str(status)),
                REQUEST_DURATION.labels(operation),
            )
            self._children[(operation, status)] = children
        children[0].inc()
        children[1].observe(seconds)


def delivery_attempt(outcome: str, latency_ms: int | None) -> None:
    """Count one webhook delivery attempt (``outcome``: succeeded, retrying, failed)."""
    DELIVERIES_TOTAL.labels(outcome).inc()
    if latency_ms is not None:
        DELIVERY_DURATION.observe(latency_ms / 1000)


def watch_pool(engine: Engine, pool: str, size: int) -> None:
    """Keep ``cmpapi_db_pool_*{pool=...}`` up to date from the engine's pool events."""
    checked_out = POOL_CHECKED_OUT.labels(pool)
    POOL_SIZE.labels(pool).set(size)

    def on_checkout(*_args: Any) -> None:
        checked_out.inc()

    def on_checkin(*_args: Any) -> None:
        checked_out.dec()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


class QueueCollector(Collector):
    """Job and webhook delivery queues, read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            jobs, deliveries = self._read()
        except Exception as exc:  # the scrape still answers the other metrics
            log.warning("metrics: reading the queues failed: %s", exc)
            yield GaugeMetricFamily(
                "cmpapi_queue_metrics_up", "Whether the queues could be read", value=0
            )
            return
        yield GaugeMetricFamily(
            "cmpapi_queue_metrics_up", "Whether the queues could be read", value=1
        )
        at = now()
        depth = GaugeMetricFamily(
            "cmpapi_job_queue_depth",
            "Queued jobs that are due (waiting for a worker)",
            labels=["kind"],
        )
        scheduled = GaugeMetricFamily(
            "cmpapi_jobs_scheduled",
            "Queued jobs not due yet (retries, delayed jobs)",
            labels=["kind"],
        )
        running = GaugeMetricFamily("cmpapi_jobs_running", "Jobs running", labels=["kind"])
        age = GaugeMetricFamily(
            "cmpapi_job_queue_oldest_age_seconds",
            "How long the oldest due job has waited (0: none waiting)",
            labels=["kind"],
        )
        for kind, due, later, busy, oldest in jobs:
            depth.add_metric([kind], due)
            scheduled.add_metric([kind], later)
            running.add_metric([kind], busy)
            age.add_metric([kind], _age(oldest, at))
        yield from (depth, scheduled, running, age)
        due, later, busy, oldest = deliveries
        yield GaugeMetricFamily(
            "cmpapi_webhook_delivery_queue_depth", "Webhook deliveries due, not sent yet", value=due
        )
        yield GaugeMetricFamily(
            "cmpapi_webhook_deliveries_scheduled",
            "Webhook deliveries waiting for a retry",
            value=later,
        )
        yield GaugeMetricFamily(
            "cmpapi_webhook_deliveries_in_flight", "Webhook deliveries being sent", value=busy
        )
        yield GaugeMetricFamily(
            "cmpapi_webhook_delivery_queue_oldest_age_seconds",
            "How long the oldest due delivery has waited (0: none waiting)",
            value=_age(oldest, at),
        )

    def _read(self) -> tuple[list[tuple[str, int, int, int, Any]], tuple[int, int, int, Any]]:
        at = now()
        jobs = select(
            JOBS.c.kind,
            *_queue_columns(JOBS.c.status, JOBS.c.run_at, QUEUED, RUNNING, at),
        ).where(JOBS.c.status.in_((QUEUED, RUNNING)))
        deliveries = select(
            *_queue_columns(
                DELIVERIES.c.status, DELIVERIES.c.next_attempt_at, PENDING, DELIVERING, at
            )
        ).where(DELIVERIES.c.status.in_((PENDING, DELIVERING)))
        with self.engine.connect() as conn:
            job_rows = conn.execute(jobs.group_by(JOBS.c.kind)).all()
            row = conn.execute(deliveries).one()
        return (
            [(r[0], r[1] or 0, r[2] or 0, r[3] or 0, r[4]) for r in job_rows],
            (row[0] or 0, row[1] or 0, row[2] or 0, row[3]),
        )


def _queue_columns(status: Any, due_at: Any, waiting: str, busy: str, at: datetime) -> list[Any]:
    is_due = (status == waiting) & (due_at <= at)
    return [
        func.sum(case((is_due, 1), else_=0)),
        func.sum(case(((status == waiting) & (due_at > at), 1), else_=0)),
        func.sum(case((status == busy, 1), else_=0)),
        func.min(case((is_due, due_at), else_=None)),
    ]


def _age(oldest: datetime | str | None, at: datetime) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # in case a driver returns min() over a CASE as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=at.tzinfo)
    return max(0.0, (at - oldest).total_seconds())


def render(collectors: Iterable[Collector]) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every process's)
    samples, then ``collectors`` (the app's, read at scrape time)."""
    if multiprocess():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        text = generate_latest(shared)
    else:
        text = generate_latest(REGISTRY)
    scraped = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        scraped.register(collector)
    return text + generate_latest(scraped)
