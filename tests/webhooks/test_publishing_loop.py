"""The publishing loop end to end over real HTTP: a webhook channel, a task whose
"Publish" step completes, ``asset_published`` reaching a receiver, the receiver posting
publishing metadata back through the payload's link, getPublishingEvent showing it; then
a re-sync (``asset_synced``) and a withdrawal (``asset_unpublished``) reaching it too."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy.orm import Session

from cmpapi.server.settings import Settings
from tests.support.publishing import EVENTS, PUBLISH_FLOW, add_article
from tests.support.tasks import make_workflow, sub_step_url
from tests.support.uploads import jpeg, upload
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def delivered(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    """The first ``count`` bodies the receiver got, in arrival order."""
    return [json.loads(r.body) for r in receiver.wait_for(count, timeout=30)[:count]]


def test_the_publishing_loop(
    http: httpx.Client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    admin, member = world.auth(), world.auth("member")
    channel = ok(
        http.post("/ext/v1/publishing-channels", json={"name": "Blog"}, headers=admin), 201
    )
    add_webhook(db, world.org.id, receiver.url(), name="blog", event_names=EVENTS)
    workflow = make_workflow(db, world, "Blog post", PUBLISH_FLOW)
    task = ok(
        http.post("/v3/tasks", json={"title": "Launch", "workflow_id": workflow}, headers=member),
        201,
    )
    key = upload(http, world, jpeg(), "hero.jpg")
    body = {"type": "direct_upload", "key": key, "title": "Hero"}
    image = ok(http.post(f"/v3/tasks/{task['id']}/assets", json=body, headers=member), 201)["id"]
    article = add_article(http, db, world, task["id"])
    intent = {"channel_id": channel["id"]}
    ok(http.post(f"/v3/tasks/{task['id']}/publishing-intents", json=intent, headers=member), 201)
    for step in (0, 1):  # write, then go live: the Publish step completes
        ok(http.patch(sub_step_url(task, step, 0), json={"is_completed": True}, headers=member))

    with WorkerThread(wh_settings):
        (published,) = delivered(receiver, 1)
        assert published["event_name"] == "asset_published"
        data = published["data"]
        assert data["organization"] == {"id": world.org.id}
        assert data["publishing_channel"] == {"id": channel["id"], "name": "Blog"}
        assert [a["id"] for a in data["assets"]["images"]] == [image]
        assert [(a["id"], a["html_body"]) for a in data["assets"]["articles"]] == [
            (article, "<p>Hello</p>")
        ]
        assert data["assets"]["videos"] == data["assets"]["raw_files"] == []
        assert data["assets"]["structured_contents"] == []
        image_url = data["assets"]["images"][0]["links"]["self"]
        assert ok(http.get(image_url, headers=member))["mime_type"] == "image/jpeg"

        # The receiver answers through the payload's link, as an integration does.
        links = data["publishing_event"]["links"]
        items = [
            {
                "asset_id": image,
                "status": "published",
                "locale": "en",
                "public_url": "https://blog.example.com/hero",
            },
            {
                "asset_id": article,
                "status": "published",
                "locale": "en",
                "public_url": "https://blog.example.com/launch",
                "status_message": "Live",
            },
        ]
        answer = ok(http.post(links["publishing_metadata"], json={"data": items}, headers=admin))
        assert answer["errors"] == [] and len(answer["data"]) == 2
        event = ok(http.get(links["self"], headers=member))
        assert event["id"] == data["publishing_event"]["id"]
        shown = {a["id"]: [m["id"] for m in a["publishing_metadata"]] for a in event["assets"]}
        assert shown == {m["asset_id"]: [m["id"]] for m in answer["data"]}
        listed = ok(http.get(links["publishing_metadata"], headers=member))["data"]
        assert [m["public_url"] for m in listed] == [i["public_url"] for i in items]

        # A changed asset pushed again is a re-sync; then the task is withdrawn.
        draft = {"key": upload(http, world, jpeg(color="blue"), "hero2.jpg"), "title": "Hero"}
        ok(
            http.post(f"/v3/tasks/{task['id']}/assets/{image}/drafts", json=draft, headers=member),
            201,
        )
        push = {"task_id": task["id"], "asset_ids": [image]}
        base = f"/ext/v1/publishing-channels/{channel['id']}"
        synced_event = ok(http.post(f"{base}/publish", json=push, headers=member), 201)
        (_, synced) = delivered(receiver, 2)
        assert synced["event_name"] == "asset_synced"
        assert synced["data"]["publishing_event"]["id"] == synced_event["id"]
        assert [a["id"] for a in synced["data"]["assets"]["images"]] == [image]
        assert synced["data"]["assets"]["articles"] == []
        withdrawn = ok(
            http.post(f"{base}/withdraw", json={"task_id": task["id"]}, headers=member), 201
        )
        (_, _, unpublished) = delivered(receiver, 3)
        assert unpublished["event_name"] == "asset_unpublished"
        assert unpublished["data"]["publishing_event"]["id"] == withdrawn["id"]
        gone = unpublished["data"]["assets"]
        assert ([a["id"] for a in gone["images"]], [a["id"] for a in gone["articles"]]) == (
            [image],
            [article],
        )
        done = [{"asset_id": image, "status": "unpublished", "locale": "en"}]
        url = unpublished["data"]["publishing_event"]["links"]["publishing_metadata"]
        assert ok(http.post(url, json={"data": done}, headers=admin))["errors"] == []
