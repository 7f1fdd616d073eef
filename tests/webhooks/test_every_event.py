"""Whatever the library and task services record reaches a subscribed receiver verbatim:
a workflow played through the API (user and external system), a comment thread, a task
asset with a draft, a library asset, the task's publishing (published, re-synced,
withdrawn), a task's structured content (changed, previewed, removed), then one worker
delivering everything."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook as Verifier

from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.settings import Settings
from tests.support.publishing import add_channel, push
from tests.support.sc_tasks import add_content, page_type, request_preview
from tests.support.tasks import app_token, create_task, make_workflow, sub_step_url
from tests.support.uploads import jpeg, upload
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver, wait_until


def play(client: Any, db: Session, world: World) -> None:
    """Record a wide mix of library and task events through the API."""
    auth, jira = world.auth(), app_token(db, world, "Jira")
    task = create_task(client, world, make_workflow(db, world))
    for n in range(2):
        r = client.patch(sub_step_url(task, 0, n), json={"is_completed": True}, headers=auth)
        assert r.status_code == 200, r.text
    ticket = sub_step_url(task, 1, 0)
    client.patch(ticket + "/external-work", json={"identifier": "MKT-1"}, headers=jira)
    r = client.post(ticket + "/comments", json={"value": "Ready?"}, headers=auth)
    assert r.status_code == 201, r.text
    comment = r.json()["id"]
    client.patch(f"{ticket}/comments/{comment}", json={"value": "Ready now?"}, headers=auth)
    client.delete(f"{ticket}/comments/{comment}", headers=auth)
    assert client.patch(ticket, json={"is_completed": True}, headers=jira).status_code == 200
    legal = sub_step_url(task, 1, 1)
    assert client.patch(legal, json={"is_completed": True}, headers=jira).status_code == 200
    body = {"type": "direct_upload", "key": upload(client, world, jpeg(), "a.jpg"), "title": "A"}
    r = client.post(f"/v3/tasks/{task['id']}/assets", json=body, headers=auth)
    assert r.status_code == 201, r.text
    draft = {"key": upload(client, world, jpeg(color="blue"), "b.jpg"), "title": "A"}
    r = client.post(
        f"/v3/tasks/{task['id']}/assets/{r.json()['id']}/drafts", json=draft, headers=auth
    )
    assert r.status_code == 201, r.text
    key = upload(client, world, jpeg(), "lib.jpg")
    assert client.post("/v3/assets", json={"key": key, "title": "L"},
                       headers=auth).status_code == 201  # fmt: skip
    channel = add_channel(db, world, "Blog")
    r = client.post(
        f"/v3/tasks/{task['id']}/publishing-intents", json={"channel_id": channel}, headers=auth
    )
    assert r.status_code == 201, r.text
    r = client.patch(sub_step_url(task, 2, 0), json={"is_completed": True}, headers=auth)
    assert r.status_code == 200, r.text  # the Publish step: asset_published
    for action in ("publish", "withdraw"):  # asset_synced, asset_unpublished
        push(client, world, channel, task["id"], action)
    play_structured_content(client, world, task["id"])


def play_structured_content(client: Any, world: World, task_id: str) -> None:
    """A task's structured content: added, changed, previewed, removed."""
    auth = world.auth()
    content = add_content(client, world, task_id, page_type(client, world))
    path = f"/v3/tasks/{task_id}/structured-contents/{content['content_guid']}"
    assert client.patch(path, json={"title": "B"}, headers=auth).status_code == 200
    request_preview(client, world, task_id, content["content_guid"])
    assert client.delete(path, headers=auth).status_code == 204


def test_every_recorded_event_is_delivered_verbatim(
    client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    hook = add_webhook(db, world.org.id, receiver.url(), name="all",
                       event_names=sorted(EVENT_NAMES), secret="s3cret")  # fmt: skip
    play(client, db, world)
    recorded = db.scalars(select(OutboxEvent).where(OutboxEvent.org_id == world.org.id)).all()
    names = Counter(e.event_name for e in recorded)
    assert {
        "task_added", "workflow_sub_step_updated", "external_sub_step_started",
        "external_sub_step_completed", "external_sub_step_comment_added",
        "external_sub_step_comment_modified", "external_sub_step_comment_removed",
        "workflow_sub_step_comment_added", "task_asset_added", "task_asset_draft_added",
        "task_asset_modified", "task_metadata_modified", "asset_added",
        "asset_published", "asset_synced", "asset_unpublished",
        "task_asset_removed", "content_preview_requested",
    } <= set(names)  # fmt: skip
    with WorkerThread(wh_settings):
        got = receiver.wait_for(len(recorded), timeout=60)
        assert wait_until(lambda: len(receiver.requests()) >= len(recorded), timeout=60)
    bodies = [json.loads(r.body) for r in got]
    expected = [{"event_name": e.event_name, "data": e.data} for e in recorded]
    key = lambda b: json.dumps(b, sort_keys=True)  # noqa: E731 - a sort key
    assert sorted(map(key, bodies)) == sorted(map(key, expected))
    for request in got:
        assert request.headers["callback-secret"] == "s3cret"
        assert request.headers["content-type"] == "application/json"
        Verifier(hook.signing_key).verify(request.body, request.headers)
    assert len({r.headers["webhook-id"] for r in got}) == len(got)
