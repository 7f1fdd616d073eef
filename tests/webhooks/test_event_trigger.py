"""``POST /ext/v1/events/trigger``: a sample of each of the 43 events, recorded in the
outbox, delivered to webhooks and sent on event streams; shaped like the real events and
about the organization's own objects when it has some."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.orm import Session

from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.ext.event_subjects import SAMPLE_IDS
from cmpapi.server.settings import Settings
from tests.support.tasks import app_token
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver, wait_until
from tests.webhooks.sse import Listener
from tests.webhooks.test_all_events import BACKGROUND, STEPS, Play, recorded

TRIGGER = "/ext/v1/events/trigger"
NAMES = sorted(EVENT_NAMES)


def trigger(client: Any, world: World, name: str, who: str = "admin") -> dict[str, Any]:
    r = client.post(TRIGGER, json={"event_name": name}, headers=world.auth(who))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_every_event_name_is_recorded_streamed_and_delivered(
    live_server: str,
    http: httpx.Client,
    db: Session,
    world: World,
    wh_settings: Settings,
    receiver: Receiver,
) -> None:
    add_webhook(db, world.org.id, receiver.url(), event_names=NAMES)
    with Listener(f"{live_server}/ext/v1/events/stream", world.auth()) as stream:
        answers = [trigger(http, world, name) for name in NAMES]
        got = stream.wait_events(len(NAMES))
    for name, answer in zip(NAMES, answers, strict=True):
        assert answer["event_name"] == name
        assert answer["uses_sample_ids"] is True  # the organization has no objects yet
        assert answer["links"]["deliveries"].endswith(f"/ext/v1/events/{answer['id']}/deliveries")
    assert [m.fields["webhook-id"] for m in got] == [a["id"] for a in answers]
    assert [m.event for m in got] == NAMES
    bodies = [json.loads(m.fields["data"]) for m in got]
    assert bodies == [{"event_name": a["event_name"], "data": a["data"]} for a in answers]
    task = answers[NAMES.index("task_added")]["data"]["task"]
    assert task["id"] == SAMPLE_IDS["task"]
    assert task["links"]["self"] == f"{live_server}/v3/tasks/{SAMPLE_IDS['task']}"
    with WorkerThread(wh_settings):
        delivered = receiver.wait_for(len(NAMES), timeout=60)
    assert sorted(json.loads(r.body)["event_name"] for r in delivered) == NAMES
    assert sorted(r.body.decode() for r in delivered) == sorted(m.fields["data"] for m in got)


def test_who_may_trigger_what(client: Any, db: Session, world: World) -> None:
    for body, field in [
        ({"event_name": "asset_exploded"}, "event_name"),
        ({"event_name": "ping"}, "event_name"),
        ({}, "event_name"),
        ({"event_name": "asset_added", "data": {}}, "data"),
        ({"event_name": 7}, "event_name"),
    ]:
        r = client.post(TRIGGER, json=body, headers=world.auth())
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["errors"] and r.json()["message"]
    for headers, status in [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        (world.auth("member"), 403),
        (world.auth("viewer"), 403),
    ]:
        r = client.post(TRIGGER, json={"event_name": "asset_added"}, headers=headers)
        assert r.status_code == status and r.json()["message"]
    # An app acting as an admin (client_credentials), and nothing recorded by the refusals.
    r = client.post(TRIGGER, json={"event_name": "asset_added"}, headers=app_token(db, world))
    assert r.status_code == 201
    assert [e.event_name for e in recorded(db, world.org.id)] == ["asset_added"]


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys, value types, a list's first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.mark.worker
def test_samples_are_shaped_like_real_events_and_name_real_objects(
    client: Any, db: Session, world: World, wh_settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("shapes do not depend on the database")
    play = Play(client, db, world)
    for step, _ in STEPS:
        step(play)
    with WorkerThread(wh_settings):
        assert wait_until(
            lambda: {e.event_name for e in recorded(db, world.org.id)} >= BACKGROUND, timeout=60
        )
    real = {e.event_name: e.data for e in recorded(db, world.org.id)}
    samples = {name: trigger(client, world, name) for name in NAMES}
    for name in NAMES:
        assert shape(samples[name]["data"]) == shape(real[name]), name
    # The organization's objects, reachable through the sample's own links.
    for name, pick in [
        ("asset_added", lambda d: d["asset"]["links"]["self"]),
        ("task_added", lambda d: d["task"]["links"]["self"]),
        ("task_asset_added", lambda d: d["asset"]["links"]["self"]),
        ("workflow_sub_step_updated", lambda d: d["sub_step"]["links"]["self"]),
        ("external_sub_step_started", lambda d: d["external_work"]["links"]["self"]),
        ("campaign_added", lambda d: d["campaign"]["links"]["self"]),
        ("event_added", lambda d: d["event"]["links"]["self"]),
        ("task_custom_field_modified", lambda d: d["modified_custom_fields"][0]["links"]["self"]),
    ]:
        sample = samples[name]
        assert sample["uses_sample_ids"] is False, name
        r = client.get(path_of(pick(sample["data"])), headers=world.auth())
        assert r.status_code == 200, (name, r.text)
    # Objects the organization has none of (its work request was deleted) are samples.
    assert samples["work_request_added"]["uses_sample_ids"] is True
    work_request = samples["work_request_added"]["data"]["work_request"]
    assert work_request["id"] == SAMPLE_IDS["work_request"]
