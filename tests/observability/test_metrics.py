"""``/metrics``: request counters and latency by operation and status, the job and webhook
delivery queues read at scrape time, the database pool."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from cmpapi.server.jobs import queue
from cmpapi.server.jobs.tables import now
from cmpapi.server.settings import Settings
from tests.observability.metrics import value
from tests.support.world import World

REQUESTS = "cmpapi_http_requests_total"
LATENCY_COUNT = "cmpapi_http_request_duration_seconds_count"


def scrape(client: TestClient) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text


def test_requests_are_counted_by_operation_and_status(raw_client: TestClient, world: World) -> None:
    before = scrape(raw_client)
    for _ in range(3):
        assert raw_client.get("/v3/userlist", headers=world.auth()).status_code == 200
    assert raw_client.get("/v3/userlist").status_code == 401
    assert raw_client.get("/v3/no-such-thing").status_code == 404
    after = scrape(raw_client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(REQUESTS, operation="listUsers", status="200") == 3
    assert delta(REQUESTS, operation="listUsers", status="401") == 1
    assert delta(REQUESTS, operation="unmatched", status="404") == 1
    assert delta(LATENCY_COUNT, operation="listUsers") == 4
    # The scrape before counted itself once it had answered.
    assert delta(REQUESTS, operation="metrics", status="200") == 1
    families = {f.name: f for f in text_string_to_metric_families(after)}
    assert families["cmpapi_http_request_duration_seconds"].type == "histogram"
    buckets = [
        s
        for s in families["cmpapi_http_request_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["operation"] == "listUsers"
    ]
    assert buckets[-1].labels["le"] == "+Inf"
    assert buckets[-1].value == value(after, LATENCY_COUNT, operation="listUsers")


def test_job_queue_depth_and_age_are_read_at_scrape_time(
    raw_client: TestClient, db: Session
) -> None:
    queue.enqueue(db, "obs.due", {}, run_at=now() - timedelta(seconds=30))
    queue.enqueue(db, "obs.due", {})
    queue.enqueue(db, "obs.later", {}, run_at=now() + timedelta(hours=1))
    db.commit()
    text = scrape(raw_client)
    assert value(text, "cmpapi_queue_metrics_up") == 1
    assert value(text, "cmpapi_job_queue_depth", kind="obs.due") == 2
    assert value(text, "cmpapi_job_queue_oldest_age_seconds", kind="obs.due") >= 30
    assert value(text, "cmpapi_job_queue_depth", kind="obs.later") == 0
    assert value(text, "cmpapi_jobs_scheduled", kind="obs.later") == 1
    assert value(text, "cmpapi_job_queue_oldest_age_seconds", kind="obs.later") == 0
    assert value(text, "cmpapi_jobs_running", kind="obs.due") == 0
    for name in (
        "cmpapi_webhook_delivery_queue_depth",
        "cmpapi_webhook_deliveries_scheduled",
        "cmpapi_webhook_deliveries_in_flight",
        "cmpapi_webhook_delivery_queue_oldest_age_seconds",
    ):
        assert f"\n{name} 0.0\n" in text, name
    for outcome in ("succeeded", "retrying", "failed"):
        assert f'cmpapi_webhook_deliveries_total{{outcome="{outcome}"}} ' in text
    assert "cmpapi_webhook_delivery_duration_seconds_count " in text


def test_database_pool_use(raw_client: TestClient, settings: Settings) -> None:
    text = scrape(raw_client)
    assert value(text, "cmpapi_db_pool_size", pool="api") == settings.db_pool_size
    # The gauge is the process's (one app per process when served). The test process holds
    # many apps, some with connections still out, so only its change is this app's.
    before = value(text, "cmpapi_db_pool_checked_out", pool="api")
    with raw_client.app.state.engine.connect():  # type: ignore[attr-defined]
        held = value(scrape(raw_client), "cmpapi_db_pool_checked_out", pool="api")
    assert held >= before + 1
