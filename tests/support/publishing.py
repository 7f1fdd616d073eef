"""Publishing channels, tasks with assets and publishing events for publishing tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Repository
from cmpapi.server.resources.library import acl
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.publishing import channels
from tests.support.tasks import create_task, make_workflow, sub_step_url
from tests.support.uploads import jpeg, upload
from tests.support.world import World

# Write, then a "Publish" step: completing "Go live" is the task's publishing moment.
PUBLISH_FLOW: list[dict[str, Any]] = [
    {"name": "Create", "sub_steps": [{"name": "Write"}]},
    {"name": "Publish", "sub_steps": [{"name": "Go live"}]},
]
EVENTS = ["asset_published", "asset_synced", "asset_unpublished"]


def add_channel(db: Session, world: World, name: str = "Web", **values: Any) -> str:
    """A webhook channel of the world's organization (through the service the CLI uses)."""
    channel = channels.add_channel(db, world.org.id, name, **values)
    db.commit()
    return channel.id


def library_article(db: Session, world: World, html: str = "<p>Hello</p>") -> str:
    """A library article of the member (the Library API creates none)."""
    member = world.users["member"].id
    article = Repository(Asset, db, world.org.id).add(
        Asset(
            id=new_id(),
            type="article",
            title="Launch post",
            mime_type="text/html",
            html_body=html,
            owner_id=member,
        )
    )
    acl.grant(db, world.org.id, ("asset", article.id), ("user", member), acl.FULL, is_owner=True)
    db.commit()
    return article.id


def add_image(client: Any, world: World, task_id: str, title: str = "Hero") -> str:
    """An image asset of the task (an upload); its id."""
    body = {"type": "direct_upload", "key": upload(client, world, jpeg(), "a.jpg"), "title": title}
    r = client.post(f"/v3/tasks/{task_id}/assets", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def add_article(client: Any, db: Session, world: World, task_id: str) -> str:
    """An article asset of the task (a fork of a library article); its id."""
    body = {
        "type": "fork_from_library",
        "content_id": library_article(db, world),
        "content_type": "article",
    }
    r = client.post(f"/v3/tasks/{task_id}/assets", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def publish_task(db: Session, world: World, client: Any) -> dict[str, Any]:
    """A task of PUBLISH_FLOW (write step done, publish step open)."""
    task = create_task(
        client, world, make_workflow(db, world, f"Flow {new_id()[:6]}", PUBLISH_FLOW)
    )
    r = client.patch(sub_step_url(task, 0, 0), json={"is_completed": True}, headers=world.auth())
    assert r.status_code == 200, r.text
    return dict(task)


def push(
    client: Any,
    world: World,
    channel: str,
    task_id: str,
    action: str = "publish",
    who: str = "member",
    **body: Any,
) -> dict[str, Any]:
    """``POST /ext/v1/publishing-channels/{channel}/{action}``; the new event."""
    r = client.post(
        f"/ext/v1/publishing-channels/{channel}/{action}",
        json={"task_id": task_id, **body},
        headers=world.auth(who),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def published_event(
    client: Any, db: Session, world: World, channel: str, images: int = 1, article: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """A task with ``images`` images (and an article) published on ``channel``: the
    event and the asset ids."""
    task = publish_task(db, world, client)
    assets = [add_image(client, world, task["id"], f"Image {n}") for n in range(images)]
    if article:
        assets.append(add_article(client, db, world, task["id"]))
    return push(client, world, channel, task["id"]), assets
