"""/ext/v1 web app actions: briefs edited and dropped, tasks, task assets, drafts and work
requests deleted, each with its webhook event, its files gone, and the refusals of the
resources' own operations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.tasks.asset_tables import TaskAsset, TaskAssetDraft
from tests.support.campaigns import create_campaign
from tests.support.snapshot import Unchanged
from tests.support.tasks import create_task
from tests.support.uploads import jpeg, upload
from tests.support.work_requests import create_work_request, import_template
from tests.support.world import World, stranger

API = "https://testserver/v3"


def events(db: Session, *names: str) -> list[tuple[str, Any]]:
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id))
    return [(e.event_name, e.data) for e in rows if e.event_name in names]


def stored(app: FastAPI, key: str) -> bool:
    return asyncio.run(app.state.store.head(key)) is not None


def image_asset(client: Any, world: World, task_id: str, drafts: int = 1) -> str:
    key = upload(client, world, jpeg(), "a.jpg")
    body = {"type": "direct_upload", "key": key, "title": "Draft 1"}
    r = client.post(f"/v3/tasks/{task_id}/assets", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    asset = r.json()["id"]
    for n in range(2, drafts + 1):
        body = {"key": upload(client, world, jpeg(color="blue"), "b.jpg"), "title": f"Draft {n}"}
        r = client.post(
            f"/v3/tasks/{task_id}/assets/{asset}/drafts", json=body, headers=world.auth()
        )
        assert r.status_code == 201, r.text
    return asset


@pytest.mark.parametrize("kind", ["task", "campaign"])
def test_brief_put_replace_and_drop(client, db: Session, world: World, kind: str) -> None:
    if kind == "task":
        owner, get = create_task(client, world, None)["id"], "/v3/tasks/{}/brief"
    else:
        owner, get = create_campaign(client, world)["id"], "/v3/campaigns/{}/brief"
    url = f"/ext/v1/{kind}s/{owner}/brief"
    body = {"title": "Launch", "fields": [{"name": "Goal", "value": ["Reach"]}]}
    r = client.put(url, json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Launch"
    shown = client.get(get.format(owner), headers=world.auth()).json()
    assert (shown["type"], shown["title"], shown["fields"][0]["value"]) == (
        "text",
        "Launch",
        ["Reach"],
    )
    assert client.put(url, json={"title": "Launch v2"}, headers=world.auth()).status_code == 200
    assert client.get(get.format(owner), headers=world.auth()).json()["title"] == "Launch v2"
    assert client.delete(url, headers=world.auth()).status_code == 204
    assert client.get(get.format(owner), headers=world.auth()).status_code == 404
    assert client.delete(url, headers=world.auth()).status_code == 404
    self_ = f"{API}/{kind}s/{owner}"
    with_brief = {kind: {"id": owner, "links": {"self": self_, "brief": f"{self_}/brief"}}}
    assert events(db, *(f"{kind}_brief_{a}" for a in ("added", "modified", "removed"))) == [
        (f"{kind}_brief_added", with_brief),
        (f"{kind}_brief_modified", with_brief),
        (f"{kind}_brief_removed", {kind: {"id": owner, "links": {"self": self_}}}),
    ]
    other = stranger(db)
    watch = Unchanged(db)
    for body, status in [({"title": " "}, 422), ({"title": "x", "extra": 1}, 422)]:
        r = client.put(url, json=body, headers=world.auth())
        assert r.status_code == status and "message" in r.json()
    assert client.put(url, json={"title": "x"}, headers=world.auth("viewer")).status_code == 403
    assert client.put(url, json={"title": "x"}, headers=other).status_code == 404
    assert client.put(url, json={"title": "x"}).status_code == 401
    watch.finally_("refused")


def test_delete_task_takes_everything_it_holds(
    client, app: FastAPI, db: Session, world: World
) -> None:
    template = import_template(client, world)
    wr = create_work_request(client, world, template).json()["id"]
    r = client.post(f"/v3/work-requests/{wr}/tasks", json={}, headers=world.auth())
    assert r.status_code == 201, r.text
    task = r.json()["id"]
    asset = image_asset(client, world, task, drafts=2)
    key = upload(client, world, b"%PDF-1.4 a", "a.pdf")
    r = client.post(
        f"/v3/tasks/{task}/comments",
        headers=world.auth(),
        json={"value": "See", "attachments": [{"key": key, "name": "a.pdf"}]},
    )
    assert r.status_code == 201, r.text
    db.expire_all()
    keys = [d.storage_key for d in db.scalars(select(TaskAssetDraft))]
    assert len(keys) == 2 and all(stored(app, k) for k in keys)
    other = stranger(db)
    watch = Unchanged(db)
    assert client.delete(f"/ext/v1/tasks/{task}", headers=world.auth("viewer")).status_code == 403
    assert client.delete(f"/ext/v1/tasks/{task}", headers=other).status_code == 404
    watch.finally_("refused")
    assert client.delete(f"/ext/v1/tasks/{task}", headers=world.auth()).status_code == 204
    assert client.get(f"/v3/tasks/{task}", headers=world.auth()).status_code == 404
    assert not any(stored(app, k) for k in keys)
    db.expire_all()
    assert db.get(TaskAsset, asset) is None
    r = client.get(f"/v3/work-requests/{wr}/related-resources", headers=world.auth())
    assert r.status_code == 200 and r.json()["data"] == []
    assert events(db, "task_removed") == [("task_removed", {"task": {"id": task}})]
    assert client.delete(f"/ext/v1/tasks/{task}", headers=world.auth()).status_code == 404


def test_remove_task_asset_and_drafts(client, app: FastAPI, db: Session, world: World) -> None:
    task = create_task(client, world, None)["id"]
    asset = image_asset(client, world, task, drafts=2)
    drafts = db.scalars(
        select(TaskAssetDraft)
        .where(TaskAssetDraft.asset_id == asset)
        .order_by(TaskAssetDraft.draft_number)
    ).all()
    first, second = drafts
    url = f"/ext/v1/tasks/{task}/assets/{asset}"
    # The newest draft goes: the asset is its first draft again.
    assert client.delete(f"{url}/drafts/{second.id}", headers=world.auth()).status_code == 204
    assert not stored(app, second.storage_key) and stored(app, first.storage_key)
    shown = client.get(f"/v3/tasks/{task}/images/{asset}", headers=world.auth()).json()
    assert shown["title"] == "Draft 1"
    watch = Unchanged(db)
    r = client.delete(f"{url}/drafts/{first.id}", headers=world.auth())
    assert r.status_code == 422 and "draft_id" in r.json()["errors"]
    assert client.delete(f"{url}/drafts/{'0' * 32}", headers=world.auth()).status_code == 404
    assert client.delete(url, headers=world.auth("viewer")).status_code == 403
    watch.finally_("refused")
    assert client.delete(url, headers=world.auth()).status_code == 204
    assert not stored(app, first.storage_key)
    r = client.get(f"/v3/tasks/{task}/assets", headers=world.auth())
    assert r.json()["data"] == []
    task_ref = {
        "id": task,
        "links": {"self": f"{API}/tasks/{task}", "assets": f"{API}/tasks/{task}/assets"},
    }
    links = {"self": f"{API}/tasks/{task}/images/{asset}", "task": f"{API}/tasks/{task}"}
    assert events(db, "task_asset_draft_removed", "task_asset_removed") == [
        (
            "task_asset_draft_removed",
            {"task": task_ref, "asset": {"id": asset, "type": "image", "links": links}},
        ),
        ("task_asset_removed", {"task": task_ref, "asset": {"id": asset, "type": "image"}}),
    ]


def test_delete_work_request(client, db: Session, world: World) -> None:
    template = import_template(client, world)
    wr = create_work_request(client, world, template).json()["id"]
    r = client.post(f"/v3/work-requests/{wr}/comments", json={"value": "Hi"}, headers=world.auth())
    assert r.status_code == 201, r.text
    other = stranger(db)
    watch = Unchanged(db)
    url = f"/ext/v1/work-requests/{wr}"
    assert client.delete(url, headers=world.auth("viewer")).status_code == 403
    assert client.delete(url, headers=other).status_code == 404
    watch.finally_("refused")
    assert client.delete(f"/ext/v1/work-requests/{wr}", headers=world.auth()).status_code == 204
    assert client.get(f"/v3/work-requests/{wr}", headers=world.auth()).status_code == 404
    assert events(db, "work_request_removed") == [
        ("work_request_removed", {"work_request": {"id": wr}})
    ]


def test_work_request_comment_edit_and_delete(client, db: Session, world: World) -> None:
    template = import_template(client, world)
    wr = create_work_request(client, world, template).json()["id"]
    r = client.post(f"/v3/work-requests/{wr}/comments", json={"value": "Hi"}, headers=world.auth())
    comment = r.json()["id"]
    url = f"/ext/v1/work-requests/{wr}/comments/{comment}"
    r = client.patch(url, json={"value": "Hello"}, headers=world.auth())
    assert r.status_code == 200 and r.json() == {"id": comment, "value": "Hello"}
    shown = client.get(f"/v3/work-requests/{wr}/comments/{comment}", headers=world.auth())
    assert shown.json()["value"] == "Hello"
    other = stranger(db)
    watch = Unchanged(db)
    assert client.patch(url, json={"value": "x" * 10_001}, headers=world.auth()).status_code == 422
    assert (
        client.patch(url, json={"value": "Mine"}, headers=world.auth("viewer")).status_code == 403
    )
    assert client.delete(url, headers=other).status_code == 404
    watch.finally_("refused")
    assert client.delete(url, headers=world.auth("admin")).status_code == 204
    assert (
        client.get(f"/v3/work-requests/{wr}/comments/{comment}", headers=world.auth()).status_code
        == 404
    )
    ref = {"self": f"{API}/work-requests/{wr}", "comments": f"{API}/work-requests/{wr}/comments"}
    names = [
        n for n, _ in events(db, "work_request_comment_modified", "work_request_comment_removed")
    ]
    assert names == ["work_request_comment_modified", "work_request_comment_removed"]
    assert events(db, "work_request_comment_removed")[0][1]["work_request"]["links"] == ref
