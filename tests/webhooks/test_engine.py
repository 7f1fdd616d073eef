"""The delivery engine as a whole: isolation of slow receivers, leases of dead workers,
resuming after a restart, auto-disabling, test pings, the worker embedded in the app."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import claim, service
from cmpapi.server.webhooks.tables import Delivery
from tests.webhooks.conftest import (
    WorkerThread,
    add_webhook,
    attempts,
    deliveries,
    record,
    webhook,
)
from tests.webhooks.receiver import Receiver, Reply, wait_until


def test_a_slow_webhook_does_not_hold_up_a_healthy_one(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    receiver.always("/slow", Reply(delay=1.0))
    slow = add_webhook(session, org, receiver.url("/slow"), name="slow")
    add_webhook(session, org, receiver.url("/fast"), name="fast")
    record(session, org, count=8)
    with WorkerThread(wh_settings):
        wait_until(lambda: len(deliveries(engine, webhook_id=slow.id, status="succeeded")) == 8)
    slow_arrivals = sorted(r.at for r in receiver.requests("/slow"))
    fast_arrivals = [r.at for r in receiver.requests("/fast")]
    assert len(fast_arrivals) == 8
    # The 5th slow request waited for a slot (4 per webhook); every healthy one came sooner.
    assert max(fast_arrivals) < slow_arrivals[4]
    assert receiver.max_in_flight["/slow"] == wh_settings.webhook_concurrency_per_webhook == 4


def test_a_dead_workers_leased_deliveries_come_back(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    hook = add_webhook(session, org, receiver.url())
    with WorkerThread(wh_settings):
        record(session, org, count=3)
        wait_until(lambda: len(deliveries(engine, status="succeeded")) == 3)
    receiver_count = len(receiver.requests())
    # A worker that claimed two deliveries and died (no attempt, no renewal).
    for delivery in deliveries(engine)[:2]:
        service.redeliver(session, org, delivery.id, wh_settings)
    batch = claim.claim(engine, "dead:1:abc", {hook.id: 5}, lease_seconds=0.3)
    assert len(batch.deliveries) == 2
    with WorkerThread(wh_settings):
        wait_until(lambda: len(receiver.requests()) == receiver_count + 2)
        wait_until(lambda: len(deliveries(engine, status="succeeded")) == 3)
    lost = [a for a in attempts(engine) if a.error and "worker lost" in a.error]
    assert len(lost) == 2 and all(not a.succeeded for a in lost)


def test_pending_deliveries_resume_after_a_restart(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    # A retry far away: under load a short one could run before the first worker stops.
    settings = wh_settings.model_copy(update={"webhook_retry_schedule": "3600"})
    receiver.script("/hook", Reply(500))
    add_webhook(session, org, receiver.url())
    record(session, org)
    with WorkerThread(settings):
        receiver.wait_for(1)
        wait_until(lambda: deliveries(engine)[0].status == "pending")
    # Stopped before the retry was due; once it is due, a new worker (a restarted server)
    # delivers it.
    assert len(receiver.requests()) == 1
    with engine.begin() as conn:
        conn.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC)))
    with WorkerThread(settings):
        wait_until(lambda: deliveries(engine)[0].status == "succeeded")
    assert [a.status_code for a in attempts(engine)] == [500, 200]


def test_events_recorded_while_no_worker_runs_are_delivered_later(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    add_webhook(session, org, receiver.url())
    record(session, org, count=5)
    assert deliveries(engine) == []
    with WorkerThread(wh_settings):
        receiver.wait_for(5)
        wait_until(lambda: len(deliveries(engine, status="succeeded")) == 5)


def test_a_webhook_failing_for_the_whole_window_is_disabled(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    # A window of 5 retry intervals, and a schedule twice as long: the first attempt's
    # result must be recorded within a second for the streak to outlive it (a 0.3 s window
    # was disabled after one attempt once, under CI's load).
    retries = 10
    settings = wh_settings.model_copy(
        update={
            "webhook_disable_after": 1.0,
            "webhook_retry_schedule": ",".join(["0.2"] * retries),
        }
    )
    receiver.always("/hook", Reply(500))
    hook = add_webhook(session, org, receiver.url())
    record(session, org)
    with WorkerThread(settings):
        wait_until(lambda: not webhook(engine, hook.id).is_active)
        wait_until(lambda: deliveries(engine)[0].status == "failed")
    state = webhook(engine, hook.id)
    assert state.disabled_reason is not None
    assert state.disabled_reason.startswith("Every delivery failed from")
    assert 2 <= len(receiver.requests()) < retries + 1  # stopped before the schedule ran out
    assert deliveries(engine)[0].last_error == "webhook disabled"


def test_ping_is_one_attempt_and_leaves_health_alone(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(500))
    hook = add_webhook(session, org, receiver.url())
    with WorkerThread(wh_settings):
        first = service.send_ping(session, org, hook.id)
        wait_until(lambda: deliveries(engine)[0].status == "failed")
        second = service.send_ping(session, org, hook.id)
        wait_until(lambda: len(deliveries(engine, status="succeeded")) == 1)
    body = json.loads(receiver.requests()[0].body)
    assert body == {"event_name": "ping", "data": {"webhook": {"id": hook.id, "name": "hook"}}}
    assert first.id != second.id and len(receiver.requests()) == 2
    state = webhook(engine, hook.id)
    assert state.failing_since is None and state.is_active


def test_the_server_with_its_embedded_worker_delivers(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    add_webhook(session, org, receiver.url())
    app = create_app(wh_settings.model_copy(update={"worker_embedded": True}))
    try:
        with TestClient(app):
            with app.state.sessionmaker() as api_session:
                record(api_session, org, count=2)
            receiver.wait_for(2)
            wait_until(lambda: len(deliveries(engine, status="succeeded")) == 2)
    finally:
        app.state.engine.dispose()


def test_a_stopping_worker_winds_its_engine_down_at_once(
    wh_settings: Settings, engine: Engine, session: Session, org: str, receiver: Receiver
) -> None:
    """The engine hears JobContext.stopping: requests in flight finish, held deliveries go
    back to the queue unattempted. Were it deaf to it, it would go on delivering for the
    whole shutdown timeout (20 s here, enough for all 40)."""
    settings = wh_settings.model_copy(update={"worker_shutdown_timeout": 20})
    receiver.always("/hook", Reply(delay=0.5))
    add_webhook(session, org, receiver.url())
    record(session, org, count=40)
    with WorkerThread(settings):
        receiver.wait_for(4)
    statuses = Counter(d.status for d in deliveries(engine))
    assert set(statuses) == {"succeeded", "pending"}, statuses
    assert 4 <= statuses["succeeded"] < 40
    assert all(d.attempts == 0 for d in deliveries(engine, status="pending"))
    assert len(receiver.requests()) == statuses["succeeded"]
