"""``GET /ext/v1/events/stream`` on a real uvicorn server, read by a real streaming client
(``sse.Listener``), on SQLite and PostgreSQL.

The streams of these tests poll the outbox every 30 s only: an event that arrives within
seconds was brought by a commit's wake-up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.app import create_app
from cmpapi.server.events.outbox import OutboxEvent, record_event
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks.fanout import body_of
from cmpapi.server.webhooks.stream import QUEUE_LIMIT
from cmpapi.server.webhooks.stream_cursor import decode_cursor
from tests.support.campaigns import create_campaign, create_event
from tests.support.servers import serving
from tests.support.tasks import app_token
from tests.support.world import World, stranger
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver
from tests.webhooks.sse import Listener

STREAM = "/ext/v1/events/stream"
QUIET = {"event_stream_heartbeat": 0.3, "event_stream_max_per_org": 3}


@pytest.fixture
def settings(wh_settings: Settings) -> Settings:
    return wh_settings.model_copy(update={**QUIET, "event_stream_poll_interval": 30})


@pytest.fixture
def listen(live_server: str, world: World) -> Iterator[Callable[..., Listener]]:
    """Opens streams (closed at the end): ``listen(who="admin", headers=..., **params)``."""
    opened: list[Listener] = []

    def open_stream(
        who: str = "admin", headers: dict[str, str] | None = None, **params: Any
    ) -> Listener:
        listener = Listener(f"{live_server}{STREAM}", headers or world.auth(who), params)
        opened.append(listener.__enter__())
        return listener

    yield open_stream
    for listener in opened:
        listener.close()


def outbox(db: Session, org_id: str) -> list[OutboxEvent]:
    db.expire_all()
    query = select(OutboxEvent).where(OutboxEvent.org_id == org_id)
    return list(db.scalars(query.order_by(OutboxEvent.created_at, OutboxEvent.id)))


def changes(http: httpx.Client, world: World) -> None:
    """Five events through the API: campaign_added, campaign_metadata_modified,
    campaign_brief_added, event_added, event_modified."""
    campaign = create_campaign(http, world)["id"]
    r = http.patch(f"/v3/campaigns/{campaign}", json={"title": "Summer"}, headers=world.auth())
    assert r.status_code == 204, r.text
    r = http.put(f"/ext/v1/campaigns/{campaign}/brief", json={"title": "B"}, headers=world.auth())
    assert r.status_code == 200, r.text
    event = create_event(http, world)["id"]
    r = http.patch(f"/v3/events/{event}", json={"title": "Gala"}, headers=world.auth())
    assert r.status_code == 200, r.text


def test_changes_arrive_in_order_with_the_webhook_bodies(
    listen: Callable[..., Listener],
    http: httpx.Client,
    db: Session,
    world: World,
    wh_settings: Settings,
    receiver: Receiver,
) -> None:
    add_webhook(
        db,
        world.org.id,
        receiver.url(),
        event_names=[
            "campaign_added",
            "event_added",
            "campaign_metadata_modified",
            "campaign_brief_added",
            "event_modified",
        ],
    )
    stream = listen()
    assert stream.response_headers["content-type"].startswith("text/event-stream")
    assert stream.response_headers["cache-control"] == "no-cache"
    changes(http, world)
    got = stream.wait_events(5)
    rows = outbox(db, world.org.id)
    assert [m.fields["webhook-id"] for m in got] == [r.id for r in rows]
    assert [m.event for m in got] == [r.event_name for r in rows]
    assert [m.fields["data"] for m in got] == [body_of(r.event_name, r.data) for r in rows]
    with WorkerThread(wh_settings):
        delivered = receiver.wait_for(5, timeout=30)
    assert sorted(r.body.decode() for r in delivered) == sorted(m.fields["data"] for m in got)
    # Opaque cursors, each one further on; nothing else was sent.
    cursors = [m.fields["id"] for m in got]
    assert len(set(cursors)) == 5 and not any(r.id in c for r in rows for c in cursors)
    assert stream.wait(lambda s: "keepalive" in s.comments, timeout=5)
    assert len(stream.events()) == 5


def test_only_events_committed_after_opening(
    listen: Callable[..., Listener], db: Session, world: World
) -> None:
    record_event(db, "asset_added", {"asset": {"id": "before"}}, org_id=world.org.id)
    db.commit()
    stream = listen()
    opening = stream.messages[0].fields
    assert opening["retry"] == "2000" and "event" not in opening
    decode_cursor(opening["id"])  # a cursor of its own: resuming from it misses nothing
    after = record_event(db, "asset_added", {"asset": {"id": "after"}}, org_id=world.org.id)
    db.commit()
    (message,) = stream.wait_events(1)
    assert message.fields["webhook-id"] == after.id
    assert not stream.wait(lambda s: len(s.events()) > 1, timeout=1)


def record(db: Session, org_id: str, *names: str) -> list[str]:
    """Record events (one transaction each); their ids."""
    ids: list[str] = []
    for name in names:
        event = record_event(db, name, {"n": len(ids)}, org_id=org_id)
        db.commit()
        ids.append(event.id)
    return ids


def test_resuming_misses_nothing(
    listen: Callable[..., Listener], db: Session, world: World
) -> None:
    org = world.org.id
    first = listen()
    opening = first.last_id()
    sent = record(db, org, "task_added", "task_removed")
    assert [m.fields["webhook-id"] for m in first.wait_events(2)] == sent
    last = first.last_id()
    first.close()
    missed = record(db, org, "event_added", "event_modified", "asset_added")

    def ids(stream: Listener, n: int) -> list[str]:
        got = [m.fields["webhook-id"] for m in stream.wait_events(n)]
        assert not stream.wait(lambda s: len(s.events()) > n, timeout=0.5)
        stream.close()
        return got

    # An EventSource reconnecting sends the last id it saw.
    assert ids(listen(headers={**world.auth(), "Last-Event-ID": last}), 3) == missed
    assert ids(listen(cursor=last), 3) == missed
    # A resumed stream opens with the cursor it was given: reconnecting before any event
    # resumes from the same place.
    assert listen(cursor=last).messages[0].fields["id"] == last
    assert ids(listen(cursor=opening), 5) == sent + missed
    since = outbox(db, org)[0].created_at
    assert ids(listen(since=since.isoformat()), 5) == sent + missed
    # The header wins over the query (the URL keeps the query a client first opened with).
    header = {**world.auth(), "Last-Event-ID": last}
    assert ids(listen(headers=header, since=since.isoformat()), 3) == missed


def test_a_late_commit_is_streamed_and_replayed(
    settings: Settings, db: Session, world: World
) -> None:
    """An event recorded before another but committed after it (``created_at`` behind the
    newest one streamed) is found by the next poll, and is replayed to a cursor taken
    before it committed."""
    app = create_app(settings.model_copy(update={"event_stream_poll_interval": 0.2}))
    with serving(app) as base:
        url = f"{base}{STREAM}"
        with Listener(url, world.auth()) as stream:
            (newer,) = record(db, world.org.id, "task_added")
            stream.wait_events(1)
            cursor = stream.last_id()
            late = record_event(db, "task_removed", {"late": True}, org_id=world.org.id)
            late.created_at -= timedelta(seconds=2)
            db.commit()
            got = stream.wait_events(2)
            assert [m.fields["webhook-id"] for m in got] == [newer, late.id]
        with Listener(url, world.auth(), {"cursor": cursor}) as resumed:
            assert [m.fields["webhook-id"] for m in resumed.wait_events(1)] == [late.id]
    app.state.engine.dispose()


def test_event_name_filter(listen: Callable[..., Listener], db: Session, world: World) -> None:
    stream = listen(event_name=["task_added", "event_added"])
    ids = record(db, world.org.id, "asset_added", "task_added", "asset_removed", "event_added")
    assert [m.fields["webhook-id"] for m in stream.wait_events(2)] == [ids[1], ids[3]]


def test_falling_behind_loses_nothing(
    listen: Callable[..., Listener], db: Session, world: World
) -> None:
    """More events at once than a stream's queue holds: it reads them from the outbox."""
    stream = listen()
    count = QUEUE_LIMIT + 500
    events = [record_event(db, "asset_added", {"i": i}, org_id=world.org.id) for i in range(count)]
    db.commit()
    got = stream.wait_events(count, timeout=60)
    assert [m.fields["webhook-id"] for m in got] == [e.id for e in events]
    assert not stream.wait(lambda s: len(s.events()) > count, timeout=0.5)


def cmp_error(listener: Listener) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(listener.body)
    assert isinstance(body["message"], str)
    return body


def test_who_may_listen(
    live_server: str, db: Session, world: World, listen: Callable[..., Listener]
) -> None:
    url = f"{live_server}{STREAM}"
    for headers, status in [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        (world.auth("member"), 403),
        (world.auth("viewer"), 403),
    ]:
        with Listener(url, headers) as refused:
            assert refused.status == status
            cmp_error(refused)
    assert listen(headers=app_token(db, world)).status == 200  # an app acting as an admin
    for params, field in [
        ({"cursor": "nope"}, "cursor"),
        ({"event_name": "nope"}, "event_name"),
        ({"since": "2026-01-01T00:00:00Z", "cursor": "AQ"}, "cursor"),
        ({"since": "yesterday"}, "since"),
        ({"page_size": "5"}, "page_size"),
    ]:
        with Listener(url, world.auth(), params) as bad:
            assert bad.status == 400, params
            assert field in cmp_error(bad)["errors"]
    with Listener(url, {**world.auth(), "Last-Event-ID": "nope"}) as bad:
        assert bad.status == 400 and "Last-Event-ID" in cmp_error(bad)["errors"]


def test_streams_per_organization_are_bounded(
    app: FastAPI, listen: Callable[..., Listener], live_server: str, db: Session, world: World
) -> None:
    hub = app.state.event_hub
    streams = [listen() for _ in range(3)]
    with Listener(f"{live_server}{STREAM}", world.auth()) as refused:
        assert refused.status == 429
        assert "at most 3" in cmp_error(refused)["message"]
        assert refused.response_headers["retry-after"] == "5"
    assert listen(headers=stranger(db)).status == 200  # another organization's own bound
    streams[0].close()  # a client going away frees its place at once
    deadline = time.monotonic() + 5
    while hub.count(world.org.id) > 2:
        assert time.monotonic() < deadline, "the closed stream still counts"
        time.sleep(0.02)
    assert listen().status == 200


def test_closing_clients_end_their_streams(
    app: FastAPI, listen: Callable[..., Listener], db: Session, world: World
) -> None:
    hub = app.state.event_hub
    streams = [listen() for _ in range(3)]
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 5
    while hub.count(world.org.id):
        assert time.monotonic() < deadline, "streams outlived their clients"
        time.sleep(0.02)
    record(db, world.org.id, "task_added")  # nobody listens: nothing breaks
    stream = listen()
    record(db, world.org.id, "task_removed")
    assert stream.wait_events(1)[0].event == "task_removed"
