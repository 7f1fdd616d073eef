"""A request's id follows its work: the job it enqueued and the webhook deliveries of the
events it recorded log it; deliveries are counted in /metrics by outcome and latency."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cmpapi.server.observability import context
from cmpapi.server.settings import Settings
from tests.observability.logs import json_logs
from tests.observability.metrics import value
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook, deliveries, record
from tests.webhooks.receiver import Receiver, wait_until


def test_a_ping_request_id_reaches_the_job_and_delivery_logs(
    wh_settings: Settings,
    client: TestClient,
    session: Session,
    world: World,
    receiver: Receiver,
    engine: Engine,
) -> None:
    hook = add_webhook(session, world.org.id, receiver.url())
    before = client.get("/metrics").text
    with json_logs() as logs:
        r = client.post(
            f"/ext/v1/webhooks/{hook.id}/ping",
            headers={**world.auth(), "X-Request-Id": "obs-ping-1"},
        )
        assert r.status_code in (200, 201, 202), r.text
        with WorkerThread(wh_settings):
            receiver.wait_for(1)
            # The dispatch job ends once the engine has been idle for a while.
            wait_until(lambda: bool(job_lines(logs.lines(), "obs-ping-1")), timeout=30)
    [delivery] = deliveries(engine)
    assert delivery.request_id == "obs-ping-1"
    [sent] = [p for p in logs.lines("cmpapi.webhooks.delivery") if p["request_id"] == "obs-ping-1"]
    assert delivery.id in sent["message"] and "succeeded, 200" in sent["message"]
    [job] = job_lines(logs.lines(), "obs-ping-1")
    assert "webhooks.dispatch" in job["message"] and "succeeded" in job["message"]
    after = client.get("/metrics").text
    name = "cmpapi_webhook_deliveries_total"
    assert value(after, name, outcome="succeeded") - value(before, name, outcome="succeeded") == 1
    count = "cmpapi_webhook_delivery_duration_seconds_count"
    assert value(after, count) - value(before, count) == 1


def job_lines(lines: list[dict[str, object]], request_id: str) -> list[dict[str, object]]:
    return [p for p in lines if p["logger"] == "cmpapi.jobs" and p.get("request_id") == request_id]


def test_an_events_request_id_follows_it_into_its_deliveries(
    wh_settings: Settings, session: Session, world: World, receiver: Receiver, engine: Engine
) -> None:
    add_webhook(session, world.org.id, receiver.url())
    with context.bind("obs-event-1"):  # what the middleware does for a request
        record(session, world.org.id)
    with json_logs() as logs, WorkerThread(wh_settings):
        receiver.wait_for(1)
        wait_until(lambda: bool(logs.lines("cmpapi.webhooks.delivery")))
    [delivery] = deliveries(engine)
    assert delivery.request_id == "obs-event-1"
    [line] = logs.lines("cmpapi.webhooks.delivery")
    assert line["request_id"] == "obs-event-1" and delivery.id in str(line["message"])
