"""Each of the 43 CMP webhook events has a trigger and reaches a subscribed receiver.

``STEPS`` plays, through the API (and cmpapi's /ext/v1 operations where the CMP does it
from its web app), one action per group of events and names the events it must record.
The test fails when an event of the catalogue has no step, when a step does not record
what it names, or when a receiver does not get every recorded event verbatim, with its
secret, its Standard Webhooks signature and a delivery id of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook as Verifier

from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.library import renditions
from cmpapi.server.settings import Settings
from tests.resources.test_fields import make_field
from tests.support.campaigns import create_campaign, create_event
from tests.support.sc_tasks import add_content, page_body, page_type, request_preview
from tests.support.tasks import app_token, create_task, make_workflow, sub_step_url
from tests.support.uploads import jpeg, upload
from tests.support.work_requests import create_work_request, import_template
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver, wait_until


@dataclass
class Play:
    """What the steps share: the client, the world, and the ids made so far."""

    client: Any
    db: Session
    world: World
    ids: dict[str, Any] = field(default_factory=dict)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        r = self.client.request(method, path, headers=self.world.auth(), **kwargs)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def library(p: Play) -> None:
    renditions.create_config(p.db, p.world.org.id, name="thumb", width=16, height=16)
    p.db.commit()
    key = upload(p.client, p.world, jpeg(), "photo.jpg")
    image = p.ok("POST", "/v3/assets", 201, json={"key": key, "title": "Photo"})["id"]
    p.ok("PATCH", f"/v3/images/{image}", json={"title": "Photo, cropped"})
    key = upload(p.client, p.world, jpeg(color="green"), "gone.jpg")
    gone = p.ok("POST", "/v3/assets", 201, json={"key": key, "title": "Gone"})["id"]
    p.ok("DELETE", f"/v3/images/{gone}", 204)


def workflow(p: Play) -> None:
    """A task through its workflow: its own sub-steps, an external one (a ticket system's
    token), comments on the external one."""
    jira = app_token(p.db, p.world, "Jira")
    task = create_task(p.client, p.world, make_workflow(p.db, p.world))
    p.ids["task"] = task["id"]
    for n in range(2):
        p.ok("PATCH", sub_step_url(task, 0, n), json={"is_completed": True})
    ticket = sub_step_url(task, 1, 0)
    p.ok("PATCH", ticket, json={"assignee_id": p.world.users["member"].id})
    comment = p.ok("POST", ticket + "/comments", 201, json={"value": "Ready?"})["id"]
    p.ok("PATCH", f"{ticket}/comments/{comment}", json={"value": "Ready now?"})
    p.ok("DELETE", f"{ticket}/comments/{comment}", 204)
    r = p.client.patch(ticket, json={"is_completed": True}, headers=jira)
    assert r.status_code == 200, r.text
    p.ok("PATCH", f"/v3/tasks/{task['id']}", json={"title": "Spring launch, v2"})


def task_parts(p: Play) -> None:
    """Fields, a brief, an asset with a second draft, then removals."""
    task = p.ids["task"]
    text = make_field(p.db, p.world.org.id, "text", "Audience")
    p.ok(
        "POST",
        f"/v3/tasks/{task}/fields",
        201,
        json={"id": text.id, "type": "text", "values": ["Email"]},
    )
    brief = f"/ext/v1/tasks/{task}/brief"
    p.ok("PUT", brief, json={"title": "Brief"})
    p.ok("PUT", brief, json={"title": "Brief, v2"})
    p.ok("DELETE", brief, 204)
    body = {
        "type": "direct_upload",
        "key": upload(p.client, p.world, jpeg(), "a.jpg"),
        "title": "A",
    }
    asset = p.ok("POST", f"/v3/tasks/{task}/assets", 201, json=body)["id"]
    draft = {"key": upload(p.client, p.world, jpeg(color="blue"), "b.jpg"), "title": "A"}
    p.ok("POST", f"/v3/tasks/{task}/assets/{asset}/drafts", 201, json=draft)
    drafts = p.ok("GET", f"/v3/tasks/{task}/assets/{asset}/drafts")["data"]
    newest = max(drafts, key=lambda d: d["draft_number"])["id"]
    p.ok("DELETE", f"/ext/v1/tasks/{task}/assets/{asset}/drafts/{newest}", 204)
    p.ok("DELETE", f"/ext/v1/tasks/{task}/assets/{asset}", 204)
    other = create_task(p.client, p.world, None)["id"]
    p.ok("DELETE", f"/ext/v1/tasks/{other}", 204)


def campaigns(p: Play) -> None:
    campaign = create_campaign(p.client, p.world)["id"]
    p.ok("PATCH", f"/v3/campaigns/{campaign}", 204, json={"title": "Summer"})
    brief = f"/ext/v1/campaigns/{campaign}/brief"
    p.ok("PUT", brief, json={"title": "Brief"})
    p.ok("PUT", brief, json={"title": "Brief, v2"})
    p.ok("DELETE", brief, 204)
    event = create_event(p.client, p.world, campaign_id=campaign)["id"]
    p.ok("PATCH", f"/v3/events/{event}", json={"title": "Gala"})


def work_requests(p: Play) -> None:
    template = import_template(p.client, p.world)
    r = create_work_request(p.client, p.world, template)
    assert r.status_code == 201, r.text
    url = f"/v3/work-requests/{r.json()['id']}"
    p.ok("PATCH", url, 204, json={"status": "Accepted"})
    comment = p.ok("POST", f"{url}/comments", 201, json={"value": "Scope?"})["id"]
    ext = url.replace("/v3/", "/ext/v1/")
    p.ok("PATCH", f"{ext}/comments/{comment}", json={"value": "Scope, please?"})
    p.ok("DELETE", f"{ext}/comments/{comment}", 204)
    p.ok("DELETE", ext, 204)


def publishing(p: Play) -> None:
    """A task's asset published on a webhook channel, published again (re-synced), then
    withdrawn, as the web app's publish buttons do (/ext/v1)."""
    channel = p.ok("POST", "/ext/v1/publishing-channels", 201, json={"name": "Web"})["id"]
    task = create_task(p.client, p.world, None)["id"]
    body = {"type": "direct_upload", "key": upload(p.client, p.world, jpeg(), "p.jpg")}
    p.ok("POST", f"/v3/tasks/{task}/assets", 201, json={**body, "title": "Hero"})
    push = f"/ext/v1/publishing-channels/{channel}"
    p.ok("POST", f"{push}/publish", 201, json={"task_id": task})
    p.ok("POST", f"{push}/publish", 201, json={"task_id": task})
    p.ok("POST", f"{push}/withdraw", 201, json={"task_id": task})


def structured_content(p: Play) -> None:
    """A library content (the library events), a task's content: changed, previewed,
    removed (the task asset events, content_preview_requested)."""
    type_id = page_type(p.client, p.world)
    body = {
        "content_body": {
            "content_type_guid": type_id,
            "root_content": True,
            "fields": page_body(type_id)["fields"],
        }
    }
    content = p.ok("POST", "/v3/structured-contents", json=body)["id"]
    p.ok("PATCH", f"/v3/structured-contents/{content}", json={"is_archived": True})
    task = create_task(p.client, p.world, None)["id"]
    added = add_content(p.client, p.world, task, type_id)["content_guid"]
    path = f"/v3/tasks/{task}/structured-contents/{added}"
    p.ok("PATCH", path, json={"title": "Spring page, v2"})
    request_preview(p.client, p.world, task, added)
    p.ok("DELETE", path, 204)


def names(text: str) -> list[str]:
    return text.split()


Step = tuple[Callable[[Play], None], list[str]]
STEPS: list[Step] = [
    (library, names("asset_added asset_modified asset_removed")),
    (
        workflow,
        names("""task_added workflow_sub_step_updated external_sub_step_started
        external_sub_step_modified external_sub_step_completed workflow_sub_step_comment_added
        workflow_sub_step_comment_modified workflow_sub_step_comment_removed
        external_sub_step_comment_added external_sub_step_comment_modified
        external_sub_step_comment_removed task_metadata_modified"""),
    ),
    (
        task_parts,
        names("""task_custom_field_modified task_brief_added task_brief_modified task_brief_removed
        task_asset_added task_asset_draft_added task_asset_modified task_asset_draft_removed
        task_asset_removed task_removed"""),
    ),
    (
        campaigns,
        names("""campaign_added campaign_metadata_modified campaign_brief_added
        campaign_brief_modified campaign_brief_removed event_added event_modified"""),
    ),
    (
        work_requests,
        names("""work_request_added work_request_modified work_request_comment_added
        work_request_comment_modified work_request_comment_removed
        work_request_removed"""),
    ),
    (publishing, names("asset_published asset_synced asset_unpublished")),
    (
        structured_content,
        names("""asset_added asset_modified task_asset_added task_asset_modified
        content_preview_requested task_asset_removed"""),
    ),
]
# Recorded by the job worker once the step's work is done in the background.
BACKGROUND = {"asset_renditions_created"}


def recorded(db: Session, org_id: str) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.org_id == org_id)))


def test_every_event_has_a_step() -> None:
    named = {name for _, names in STEPS for name in names} | BACKGROUND
    assert sorted(EVENT_NAMES - named) == []
    assert sorted(named - EVENT_NAMES) == []


def test_each_event_reaches_a_receiver(
    client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    hook = add_webhook(
        db,
        world.org.id,
        receiver.url(),
        name="all",
        event_names=sorted(EVENT_NAMES),
        secret="s3cret",
    )
    play = Play(client, db, world)
    for step, names in STEPS:
        before = {e.id for e in recorded(db, world.org.id)}
        step(play)
        new = {e.event_name for e in recorded(db, world.org.id) if e.id not in before}
        assert sorted(set(names) - new) == [], step.__name__
    with WorkerThread(wh_settings):
        assert wait_until(
            lambda: {e.event_name for e in recorded(db, world.org.id)} >= BACKGROUND, timeout=60
        )
        events = recorded(db, world.org.id)
        assert {e.event_name for e in events} == EVENT_NAMES
        got = receiver.wait_for(len(events), timeout=60)
    bodies = sorted(json.dumps(json.loads(r.body), sort_keys=True) for r in got)
    expected = [{"event_name": e.event_name, "data": e.data} for e in events]
    assert bodies == sorted(json.dumps(b, sort_keys=True) for b in expected)
    for request in got:
        assert request.headers["callback-secret"] == "s3cret"
        assert request.headers["content-type"] == "application/json"
        Verifier(hook.signing_key).verify(request.body, request.headers)
    assert len({r.headers["webhook-id"] for r in got}) == len(got)
