"""The intake story over real HTTP against a live server, with a worker delivering to a
real receiver: an outside form posts a work request from a template (an app's token), a
member turns it into a campaign and a task, the task links back to the campaign and the
request, and the receiver gets work_request_added, campaign_added and task_added, in
that order, verbatim and signed."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy.orm import Session
from standardwebhooks import Webhook as Verifier

from cmpapi.server.settings import Settings
from tests.support.tasks import app_token
from tests.support.work_requests import TEMPLATE, request_body, settings_document
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver

STORY = ["work_request_added", "campaign_added", "task_added"]


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_intake_story(
    http: httpx.Client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    hook = add_webhook(
        db, world.org.id, receiver.url(), name="intake", event_names=STORY, secret="s3cret"
    )
    admin, member = world.auth("admin"), world.auth("member")
    ok(
        http.post(
            "/v3/settings",
            params={"execute": "true"},
            json=settings_document(TEMPLATE),
            headers=admin,
        )
    )
    (listed,) = ok(http.get("/v3/templates", headers=member))["data"]
    template = ok(http.get(f"/v3/templates/{listed['id']}", headers=member))
    form = app_token(db, world, "Intake form")
    base = str(http.base_url).rstrip("/") + "/"
    with WorkerThread(wh_settings):
        request = ok(http.post("/v3/work-requests", json=request_body(template), headers=form), 201)
        receiver.wait_for(1, timeout=30)
        campaign = ok(
            http.post(
                f"/v3/work-requests/{request['id']}/campaigns",
                json={"title": "Spring"},
                headers=member,
            ),
            201,
        )
        receiver.wait_for(2, timeout=30)
        body = {"campaign_id": campaign["id"]}
        task = ok(
            http.post(f"/v3/work-requests/{request['id']}/tasks", json=body, headers=member), 201
        )
        got = receiver.wait_for(3, timeout=30)
    events = [json.loads(r.body) for r in got]
    assert [e["event_name"] for e in events] == STORY
    assert events[0]["data"]["work_request"]["id"] == request["id"]
    assert events[1]["data"]["campaign"]["id"] == campaign["id"]
    assert events[1]["data"]["campaign"]["links"]["work_request"] == (
        f"{base}v3/work-requests/{request['id']}"
    )
    assert events[2]["data"]["task"]["id"] == task["id"]
    for r in got:
        assert r.headers["callback-secret"] == "s3cret"
        Verifier(hook.signing_key).verify(r.body, r.headers)
    # The task links back to the campaign, and to the request through its brief and the
    # request's related resources.
    shown = ok(http.get(f"/v3/tasks/{task['id']}", headers=member))
    assert shown["links"]["campaign"] == f"{base}v3/campaigns/{campaign['id']}"
    brief = ok(http.get(f"/v3/tasks/{task['id']}/brief", headers=member))
    assert brief["template"] == {"id": template["id"], "name": template["title"]}
    related = ok(http.get(f"/v3/work-requests/{request['id']}/related-resources", headers=member))
    assert {(x["id"], x["resource_type"]) for x in related["data"]} == {
        (campaign["id"], "campaign"),
        (task["id"], "task"),
    }
