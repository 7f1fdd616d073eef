"""campaign_added, campaign_metadata_modified, event_added and event_modified: recorded by
the campaign and calendar-event services with the payloads of
shared/reference/cmp-webhooks.md (§2.3, §2.7) and delivered verbatim."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.settings import Settings
from tests.support.campaigns import create_campaign, create_event
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver

API = "https://testserver/v3"
NAMES = ["campaign_added", "campaign_metadata_modified", "event_added", "event_modified"]


def test_campaign_and_event_payloads_are_recorded_and_delivered(
    client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    add_webhook(db, world.org.id, receiver.url(), name="calendar", event_names=NAMES)
    campaign = create_campaign(client, world)["id"]
    r = client.patch(f"/v3/campaigns/{campaign}", json={"title": "Summer"}, headers=world.auth())
    assert r.status_code == 204
    event = create_event(client, world, campaign_id=campaign)["id"]
    r = client.patch(f"/v3/events/{event}", json={"title": "Gala"}, headers=world.auth())
    assert r.status_code == 200
    recorded = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    campaign_self = {"self": f"{API}/campaigns/{campaign}"}
    event_ref = {"event": {"id": event, "links": {"self": f"{API}/events/{event}"}}}
    assert [(e.event_name, e.data) for e in recorded] == [
        (
            "campaign_added",
            {"campaign": {"id": campaign, "links": {**campaign_self, "work_request": None}}},
        ),
        ("campaign_metadata_modified", {"campaign": {"id": campaign, "links": campaign_self}}),
        ("event_added", event_ref),
        ("event_modified", event_ref),
    ]
    with WorkerThread(wh_settings):
        got = receiver.wait_for(len(recorded), timeout=60)
    bodies = sorted(json.dumps(json.loads(r.body), sort_keys=True) for r in got)
    expected = [{"event_name": e.event_name, "data": e.data} for e in recorded]
    assert bodies == sorted(json.dumps(b, sort_keys=True) for b in expected)
