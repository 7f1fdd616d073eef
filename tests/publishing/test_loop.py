"""When the publishing loop fires: a task's "Publish" step (or, without one, the task's
completion) publishes its assets on the channels it has publishing intents for; the
payload of ``asset_published``; re-syncs and withdrawals (docs/compat.md, Publishing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.publishing.tables import PublishingEvent
from tests.support.publishing import (
    PUBLISH_FLOW,
    add_article,
    add_channel,
    add_image,
    push,
)
from tests.support.tasks import create_task, make_workflow, sub_step_url
from tests.support.world import World

API = "https://testserver/v3"


def publish_events(db: Session) -> list[OutboxEvent]:
    db.expire_all()
    names = ("asset_published", "asset_synced", "asset_unpublished")
    stmt = select(OutboxEvent).where(OutboxEvent.event_name.in_(names))
    return list(db.scalars(stmt.order_by(OutboxEvent.created_at)))


def complete(client: Any, world: World, task: dict[str, Any], step: int, sub: int = 0) -> None:
    r = client.patch(
        sub_step_url(task, step, sub), json={"is_completed": True}, headers=world.auth("member")
    )
    assert r.status_code == 200, r.text


def intend(client: Any, world: World, task: dict[str, Any], channel: str) -> None:
    r = client.post(
        f"/v3/tasks/{task['id']}/publishing-intents",
        json={"channel_id": channel},
        headers=world.auth("member"),
    )
    assert r.status_code == 201, r.text


def new_task(client: Any, db: Session, world: World, steps: list[dict[str, Any]]) -> Any:
    return create_task(client, world, make_workflow(db, world, "Flow", steps))


def test_the_publish_step_publishes_on_the_intended_channels(
    client, db: Session, world: World
) -> None:
    web, blog = add_channel(db, world, "Web"), add_channel(db, world, "Blog")
    paused = add_channel(db, world, "Paused")
    task = new_task(client, db, world, PUBLISH_FLOW)
    image = add_image(client, world, task["id"])
    article = add_article(client, db, world, task["id"])
    for channel in (web, paused):
        intend(client, world, task, channel)
    client.patch(
        f"/ext/v1/publishing-channels/{paused}", json={"disabled": True}, headers=world.auth()
    )
    complete(client, world, task, 0)
    assert publish_events(db) == []  # the Publish step is still open
    complete(client, world, task, 1)
    (event,) = publish_events(db)
    row = db.scalars(select(PublishingEvent)).one()
    assert (row.channel_id, row.task_id) == (web, task["id"])
    data = event.data
    assert event.event_name == "asset_published"
    assert data["publishing_event"] == {
        "id": row.id,
        "links": {
            "self": f"{API}/publishing-events/{row.id}",
            "publishing_metadata": f"{API}/publishing-events/{row.id}/publishing-metadata",
        },
    }
    assert data["organization"] == {"id": world.org.id}
    assert data["publishing_channel"] == {"id": web, "name": "Web"}
    assert set(data["assets"]) == {
        "articles",
        "images",
        "videos",
        "raw_files",
        "structured_contents",
    }
    (img,) = data["assets"]["images"]
    assert set(img) == {
        "id",
        "title",
        "created_at",
        "modified_at",
        "labels",
        "links",
        "mime_type",
        "file_size",
        "width",
        "height",
    }
    assert (img["id"], img["mime_type"], img["width"]) == (image, "image/jpeg", 64)
    assert img["links"] == {"self": f"{API}/tasks/{task['id']}/images/{image}"}
    (art,) = data["assets"]["articles"]
    assert (art["id"], art["html_body"], art["images"]) == (article, "<p>Hello</p>", [])
    assert art["created_at"].endswith("Z")
    # Later intents publish at once; a channel is published on once per task.
    intend(client, world, task, blog)
    intend(client, world, task, web)
    assert [e.data["publishing_channel"]["name"] for e in publish_events(db)] == ["Web", "Blog"]


def test_without_a_publish_step_the_task_completion_publishes(
    client, db: Session, world: World
) -> None:
    channel = add_channel(db, world)
    steps = [{"name": "Write", "sub_steps": [{"name": "Draft"}, {"name": "Edit"}]}]
    task = new_task(client, db, world, steps)
    add_image(client, world, task["id"])
    intend(client, world, task, channel)
    complete(client, world, task, 0, 0)
    assert publish_events(db) == []
    complete(client, world, task, 0, 1)
    assert [e.event_name for e in publish_events(db)] == ["asset_published"]


def test_nothing_is_published_without_intent_or_assets(client, db: Session, world) -> None:
    channel = add_channel(db, world)
    bare = new_task(client, db, world, PUBLISH_FLOW)
    intend(client, world, bare, channel)  # no assets
    unwanted = new_task(client, db, world, PUBLISH_FLOW)
    add_image(client, world, unwanted["id"])  # no intent
    for task in (bare, unwanted):
        complete(client, world, task, 0)
        complete(client, world, task, 1)
    assert publish_events(db) == []
    assert db.scalars(select(PublishingEvent)).all() == []


def test_republishing_syncs_and_withdrawing_unpublishes(client, db: Session, world) -> None:
    channel = add_channel(db, world)
    task = new_task(client, db, world, PUBLISH_FLOW)
    one, two = add_image(client, world, task["id"]), add_image(client, world, task["id"])
    push(client, world, channel, task["id"], asset_ids=[one])
    push(client, world, channel, task["id"])  # one is live: synced; two: published
    push(client, world, channel, task["id"], "withdraw", asset_ids=[two])
    push(client, world, channel, task["id"], asset_ids=[two])  # withdrawn: published again
    shown = [
        (e.event_name, [a["id"] for a in e.data["assets"]["images"]]) for e in publish_events(db)
    ]
    assert shown == [
        ("asset_published", [one]),
        ("asset_published", [two]),
        ("asset_synced", [one]),
        ("asset_unpublished", [two]),
        ("asset_published", [two]),
    ]
    events = publish_events(db)
    assert events[1].data["publishing_event"] == events[2].data["publishing_event"]


def test_a_published_article_shows_its_public_url(client, db: Session, world: World) -> None:
    channel = add_channel(db, world)
    task = new_task(client, db, world, PUBLISH_FLOW)
    article = add_article(client, db, world, task["id"])
    url = f"/v3/tasks/{task['id']}/articles/{article}"

    def public_url() -> str | None:
        r = client.get(url, headers=world.auth("viewer"))
        assert r.status_code == 200, r.text
        shown: str | None = r.json()["url"]
        return shown

    event = push(client, world, channel, task["id"])
    assert public_url() is None  # published, but no public URL posted yet
    item = {"asset_id": article, "status": "published", "public_url": "https://b.test/a"}
    r = client.post(
        event["links"]["publishing_metadata"], json={"data": [item]}, headers=world.auth()
    )
    assert r.status_code == 200 and r.json()["errors"] == []
    assert public_url() == "https://b.test/a"
    push(client, world, channel, task["id"], "withdraw")
    assert public_url() is None
