"""work_request_added / work_request_modified: recorded with the change, payloads as
shared/reference/cmp-webhooks.md §2.5 gives them, delivered verbatim to a subscriber."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.settings import Settings
from tests.support.work_requests import choice, create_work_request, import_template
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver

API = "https://testserver/v3"


def recorded(db: Session, org_id: str) -> list[OutboxEvent]:
    db.expire_all()
    rows = select(OutboxEvent).where(
        OutboxEvent.org_id == org_id, OutboxEvent.event_name.like("work_request%")
    )
    return list(db.scalars(rows.order_by(OutboxEvent.created_at)))


def reference(wid: str, tid: str) -> dict[str, Any]:
    base = f"{API}/work-requests/{wid}"
    return {
        "id": wid,
        "template": {"id": tid, "links": {"self": f"{API}/templates/{tid}"}},
        "links": {
            "self": base,
            "comments": f"{base}/comments",
            "campaigns": f"{base}/campaigns",
            "attachments": f"{base}/attachments",
            "creative_assets": f"{base}/creative-assets",
        },
    }


def test_work_request_events(
    client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    add_webhook(
        db,
        world.org.id,
        receiver.url(),
        name="wr",
        event_names=["work_request_added", "work_request_modified", "work_request_removed"],
    )
    template = import_template(client, world)
    r = create_work_request(client, world, template)
    assert r.status_code == 201, r.text
    wid, tid = r.json()["id"], template["id"]
    url = f"/v3/work-requests/{wid}"
    auth = world.auth("member")
    assert (
        client.patch(url, json={"status": "Accepted", "priority": "High"}, headers=auth).status_code
        == 204
    )
    assert client.patch(url, json={"status": "Accepted"}, headers=auth).status_code == 204
    assert client.patch(url, json={"status": "Submitted!"}, headers=auth).status_code == 422
    assert client.patch(url, json={"assignees": [world.team.id]}, headers=auth).status_code == 204
    r = client.put(
        f"{url}/form-fields/Regions",
        headers=auth,
        json={"type": "checkbox", "values": [choice(template, "Regions", "APAC")]},
    )
    assert r.status_code == 200, r.text
    events = recorded(db, world.org.id)
    assert [(e.event_name, e.data) for e in events] == [
        ("work_request_added", {"work_request": reference(wid, tid)}),
        (
            "work_request_modified",
            {"work_request": reference(wid, tid), "modified_fields": ["status", "priority"]},
        ),
        (
            "work_request_modified",
            {"work_request": reference(wid, tid), "modified_fields": ["assignees"]},
        ),
        (
            "work_request_modified",
            {"work_request": reference(wid, tid), "modified_fields": ["form_fields"]},
        ),
    ]
    with WorkerThread(wh_settings):
        got = receiver.wait_for(len(events), timeout=60)
    bodies = sorted(json.dumps(json.loads(g.body), sort_keys=True) for g in got)
    assert bodies == sorted(
        json.dumps({"event_name": e.event_name, "data": e.data}, sort_keys=True) for e in events
    )
