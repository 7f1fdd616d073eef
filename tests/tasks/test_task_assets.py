"""Task assets over HTTP: addAssetToTask (direct upload and fork from the library), the
list and the typed getters, drafts, fields, the refusals and the recorded events."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Repository
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.tasks.asset_tables import (
    TaskAsset,
    TaskAssetDraft,
    TaskAssetUploadKey,
)
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.settings import Settings
from tests.resources.test_fields import make_field
from tests.support.mixins import ResourceTests
from tests.support.tasks import create_task
from tests.support.uploads import jpeg, upload
from tests.support.world import World, build_world

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
API = "https://testserver/v3"


# -- helpers (the other test_task_asset* modules use them too) -----------------------------


def new_task(client: Any, world: World) -> str:
    """A task of the world's organization, made by its admin; its id."""
    return str(create_task(client, world, None)["id"])


def add(
    client: Any,
    world: World,
    task_id: str,
    data: bytes,
    title: str = "Asset",
    who: str = "admin",
    **extra: Any,
) -> Any:
    """Upload ``data`` and add it to the task (``type`` left out: direct_upload)."""
    key = upload(client, world, data)
    return client.post(
        f"/v3/tasks/{task_id}/assets",
        json={"key": key, "title": title, **extra},
        headers=world.auth(who),
    )


def added(client: Any, world: World, task_id: str, data: bytes, title: str = "Asset") -> Any:
    r = add(client, world, task_id, data, title)
    assert r.status_code == 201, r.text
    return r.json()


def add_draft(
    client: Any,
    world: World,
    task_id: str,
    asset_id: str,
    data: bytes,
    title: str = "Draft",
    who: str = "admin",
) -> Any:
    key = upload(client, world, data)
    return client.post(
        f"/v3/tasks/{task_id}/assets/{asset_id}/drafts",
        json={"type": "direct_upload", "key": key, "title": title},
        headers=world.auth(who),
    )


def download(client: Any, url: str) -> bytes:
    parts = urlsplit(url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    return bytes(response.content)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def events(db: Session, name: str) -> list[dict[str, Any]]:
    """The data of the recorded events called ``name``, oldest first."""
    db.rollback()  # a fresh snapshot: the API committed in other sessions
    stmt = select(OutboxEvent).where(OutboxEvent.event_name == name)
    return [e.data for e in db.scalars(stmt.order_by(OutboxEvent.created_at))]


def count(db: Session, model: Any) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def objects(settings: Settings) -> int:
    """How many objects the local store holds under ``assets/`` (claimed copies)."""
    root = Path(settings.resolved_storage_dir) / "assets"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def asset_event(task_id: str, asset_id: str, path: str) -> dict[str, Any]:
    """The data of task_asset_added / task_asset_draft_added."""
    return {
        "task": {
            "id": task_id,
            "links": {"self": f"{API}/tasks/{task_id}", "assets": f"{API}/tasks/{task_id}/assets"},
        },
        "asset": {
            "id": asset_id,
            "type": {
                "images": "image",
                "raw-files": "raw_file",
                "videos": "video",
                "articles": "article",
            }[path],
            "links": {
                "self": f"{API}/tasks/{task_id}/{path}/{asset_id}",
                "task": f"{API}/tasks/{task_id}",
            },
        },
    }


# -- generic list/get behaviour ----------------------------------------------------------


class TestTaskAssetsList(ResourceTests):
    list_path = "/v3/tasks/{parent}/assets"
    item_path = "/v3/tasks/{task}/images/{id}"

    @pytest.fixture(autouse=True)
    def _reset(self) -> None:
        self._task_of: dict[str, str] = {}

    def parent(self, db: Session, world: World) -> str:
        return new_task(self.client, world)

    def make(self, db: Session, world: World, n: int) -> list[str]:
        task = self.parent_of(world)
        made = [
            added(self.client, world, task, jpeg(8 + i, 8), f"Image {i}")["id"] for i in range(n)
        ]
        self._task_of.update(dict.fromkeys(made, task))
        return made

    def _item(self, item_id: str) -> str:
        task = self._task_of.get(item_id, next(iter(self._parents.values()), "0" * 32))
        return f"/v3/tasks/{task}/images/{item_id}"

    def test_listed_in_the_order_added(self, client: Any, db: Session, world: World) -> None:
        made = self.make(db, world, 4)
        r = self._list(client, world, page_size=100)
        assert [a["id"] for a in r.json()["data"]] == made


class TestTaskAssetDrafts(ResourceTests):
    list_path = "/v3/tasks/{parent}/drafts"  # parent: "<task id>/assets/<asset id>"
    item_path = None  # drafts are read through the list
    baseline = 1  # draft 1: the file the asset was added with

    def parent(self, db: Session, world: World) -> str:
        task = new_task(self.client, world)
        return f"{task}/assets/{added(self.client, world, task, jpeg())['id']}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        task, _, asset = self.parent_of(world).split("/")
        for i in range(n):
            r = add_draft(self.client, world, task, asset, jpeg(9 + i, 9), f"Draft {i}")
            assert r.status_code == 201, r.text
        url = self.list_url(world)
        data = self.client.get(url, params={"page_size": 100}, headers=world.auth()).json()["data"]
        return [d["id"] for d in data[-n:]]


# -- adding ------------------------------------------------------------------------------


def test_direct_upload_round_trip(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    data = jpeg(64, 48)
    asset = added(client, world, task, data, "Red square")
    aid = asset["id"]
    assert (asset["type"], asset["mime_type"], asset["title"]) == (
        "image",
        "image/jpeg",
        "Red square",
    )
    assert asset["labels"] == [] and asset["content"]["type"] == "url"
    assert sha(download(client, asset["content"]["value"])) == sha(data)
    assert asset["links"]["self"] == f"{API}/tasks/{task}/images/{aid}"
    assert asset["links"]["task"] == f"{API}/tasks/{task}"
    assert asset["links"]["drafts"] == f"{API}/tasks/{task}/assets/{aid}/drafts"
    assert set(asset["links"]["web_urls"]) == {"self", "task", "drafts"}
    assert "library_asset_id" not in asset  # not in the spec's TaskAssetResponse
    image = client.get(f"/v3/tasks/{task}/images/{aid}", headers=world.auth("viewer")).json()
    assert image["image_resolution"] == {"width": 64, "height": 48}
    assert (image["file_size"], image["library_asset_id"]) == (len(data), None)
    assert sha(download(client, image["url"])) == sha(data)
    for other in ("raw-files", "videos", "articles"):
        r = client.get(f"/v3/tasks/{task}/{other}/{aid}", headers=world.auth())
        assert r.status_code == 404, other
    listed = client.get(f"/v3/tasks/{task}/assets", headers=world.auth()).json()["data"]
    assert [(a["id"], a["library_asset_id"]) for a in listed] == [(aid, None)]
    # Task assets are not library assets.
    assert client.get("/v3/assets", headers=world.auth()).json()["data"] == []
    assert events(db, "task_asset_added") == [asset_event(task, aid, "images")]
    assert events(db, "asset_added") == []


def test_types_come_from_the_bytes_and_type_is_optional(client, world: World) -> None:
    task = new_task(client, world)
    key = upload(client, world, PDF)
    body = {"type": "direct_upload", "key": key, "title": "brief.pdf"}
    r = client.post(f"/v3/tasks/{task}/assets", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    raw = r.json()
    assert (raw["type"], raw["mime_type"]) == ("raw_file", "application/pdf")
    got = client.get(f"/v3/tasks/{task}/raw-files/{raw['id']}", headers=world.auth()).json()
    assert got["file_size"] == len(PDF) and got["title"] == "brief.pdf"
    assert (
        client.get(f"/v3/tasks/{task}/images/{raw['id']}", headers=world.auth()).status_code == 404
    )


def test_bad_or_reused_keys_leave_nothing_behind(
    client, db: Session, world: World, settings: Settings
) -> None:
    task = new_task(client, world)
    url = f"/v3/tasks/{task}/assets"
    key = upload(client, world, jpeg())
    first = client.post(url, json={"key": key, "title": "once"}, headers=world.auth())
    assert first.status_code == 201
    other = build_world(db, org_name="Other", prefix="other-")
    foreign = upload(client, other, jpeg())
    issued = client.get("/v3/upload-url", headers=world.auth()).json()["upload_meta_fields"]["key"]
    cases = {
        key: "already used",  # the same key again
        "f" * 32: "Unknown upload key",
        foreign: "Unknown upload key",
        issued: "No file was uploaded",
        "../etc/passwd": "Unknown upload key",
    }
    for bad, message in cases.items():
        r = client.post(url, json={"key": bad, "title": "x"}, headers=world.auth())
        assert r.status_code == 422, (bad, r.text)
        assert message in r.json()["errors"]["key"], r.json()
    for body in (
        {"title": "no key"},
        {"key": key},
        {"key": key, "title": ""},
        {"key": key, "title": "x", "bogus": 1},
        {"type": "nope", "key": key},
    ):
        assert client.post(url, json=body, headers=world.auth()).status_code == 422, body
    r = client.post(
        url, content=b"{nope", headers={**world.auth(), "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert (count(db, TaskAsset), count(db, TaskAssetDraft), count(db, TaskAssetUploadKey)) == (
        1,
        1,
        1,
    )
    assert len(events(db, "task_asset_added")) == 1
    assert objects(settings) == 1  # only the first asset's copy


def test_refused_callers(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    other = build_world(db, org_name="Other", prefix="other-")
    theirs = new_task(client, other)
    second = new_task(client, world)
    assert add(client, world, task, jpeg(), who="viewer").status_code == 403
    assert add(client, world, theirs, jpeg()).status_code == 404
    assert add(client, world, "0" * 32, jpeg()).status_code == 404
    key = upload(client, world, jpeg())
    r = client.post(f"/v3/tasks/{task}/assets", json={"key": key, "title": "x"})
    assert r.status_code == 401
    # An asset addressed under another task (of the same organization) is not found.
    for path in (
        f"images/{aid}",
        f"assets/{aid}/drafts",
        f"assets/{aid}/comments",
        f"assets/{aid}/fields",
    ):
        assert client.get(f"/v3/tasks/{second}/{path}", headers=world.auth()).status_code == 404
        assert client.get(f"/v3/tasks/{task}/{path}", headers=world.auth()).status_code == 200
    other_asset = added(client, other, theirs, jpeg())["id"]
    r = client.get(f"/v3/tasks/{theirs}/images/{other_asset}", headers=world.auth())
    assert r.status_code == 404
    assert client.get(f"/v3/tasks/{theirs}/assets", headers=world.auth()).status_code == 404
    assert add_draft(client, world, task, aid, jpeg(), who="viewer").status_code == 403
    assert add_draft(client, world, second, aid, jpeg()).status_code == 404


def test_archived_tasks_take_no_assets(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    row = db.get(Task, task)
    assert row is not None
    row.is_archived = True
    db.commit()
    assert add(client, world, task, jpeg()).status_code == 422
    assert add_draft(client, world, task, aid, jpeg()).status_code == 422
    assert client.get(f"/v3/tasks/{task}/images/{aid}", headers=world.auth()).status_code == 200


# -- fork from the library ---------------------------------------------------------------


def library_image(client: Any, world: World, data: bytes, title: str = "Lib") -> str:
    key = upload(client, world, data)
    r = client.post("/v3/assets", json={"key": key, "title": title}, headers=world.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def fork(
    client: Any,
    world: World,
    task: str,
    content_id: str,
    content_type: str = "image",
    who: str = "admin",
) -> Any:
    body = {"type": "fork_from_library", "content_id": content_id, "content_type": content_type}
    return client.post(f"/v3/tasks/{task}/assets", json=body, headers=world.auth(who))


def test_fork_copies_the_library_image(
    client, db: Session, world: World, settings: Settings
) -> None:
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    emea = group.values[0].id
    db.commit()
    field = make_field(db, world.org.id, "text", "Caption")
    data = jpeg(30, 20, "blue")
    lib = library_image(client, world, data, "Logo")
    body = {"labels": [{"group": group.id, "values": [emea]}]}
    assert client.patch(f"/v3/images/{lib}", json=body, headers=world.auth()).status_code == 200
    fields = [{"id": field.id, "type": "text", "values": ["Blue logo"]}]
    assert (
        client.put(f"/v3/assets/{lib}/fields", json=fields, headers=world.auth()).status_code == 200
    )
    task = new_task(client, world)
    before = client.get(f"/v3/images/{lib}", headers=world.auth()).json()
    recorded = count(db, OutboxEvent)
    objects_before = objects(settings)
    r = fork(client, world, task, lib)
    assert r.status_code == 201, r.text
    asset = r.json()
    assert (asset["type"], asset["title"], asset["mime_type"]) == ("image", "Logo", "image/jpeg")
    assert asset["labels"] == before["labels"] and asset["labels"][0]["values"][0]["id"] == emea
    image = client.get(f"/v3/tasks/{task}/images/{asset['id']}", headers=world.auth()).json()
    assert image["library_asset_id"] == lib
    assert image["image_resolution"] == {"width": 30, "height": 20}
    listed = client.get(f"/v3/tasks/{task}/assets", headers=world.auth()).json()["data"]
    assert listed[0]["library_asset_id"] == lib
    got = client.get(f"/v3/tasks/{task}/assets/{asset['id']}/fields", headers=world.auth())
    assert [(f["id"], f["values"]) for f in got.json()["data"]] == [(field.id, ["Blue logo"])]
    drafts = client.get(f"/v3/tasks/{task}/assets/{asset['id']}/drafts", headers=world.auth())
    assert [d["draft_number"] for d in drafts.json()["data"]] == [1]
    # The library asset is unchanged, and the task asset holds a copy of its file.
    after = client.get(f"/v3/images/{lib}", headers=world.auth()).json()
    assert {k: v for k, v in after.items() if k != "url"} == {
        k: v for k, v in before.items() if k != "url"
    }
    assert objects(settings) == objects_before + 1
    assert count(db, OutboxEvent) == recorded + 1  # task_asset_added only
    assert events(db, "task_asset_added") == [asset_event(task, asset["id"], "images")]
    new_version = upload(client, world, jpeg(5, 5, "green"))
    r = client.post(
        f"/v3/assets/{lib}/versions", json={"key": new_version, "title": "v2"}, headers=world.auth()
    )
    assert r.status_code == 201
    assert sha(download(client, image["url"])) == sha(data)
    fresh = client.get(f"/v3/tasks/{task}/images/{asset['id']}", headers=world.auth()).json()
    assert sha(download(client, fresh["url"])) == sha(data)
    assert client.get("/v3/assets", headers=world.auth()).json()["total_count"] == 1


def test_fork_an_article(client, db: Session, world: World) -> None:
    # The Library API creates no articles; one is put in place as a published task would.
    article = Repository(Asset, db, world.org.id).add(
        Asset(
            id=new_id(),
            type="article",
            title="Launch post",
            mime_type="text/html",
            html_body="<p>Hello</p>",
            owner_id=world.users["admin"].id,
        )
    )
    db.commit()
    task = new_task(client, world)
    r = fork(client, world, task, article.id, "article")
    assert r.status_code == 201, r.text
    asset = r.json()
    assert asset["content"] == {"type": "html_body", "value": "<p>Hello</p>"}
    assert asset["links"]["drafts"] is None and asset["links"]["web_urls"]["drafts"] is None
    assert asset["links"]["self"] == f"{API}/tasks/{task}/articles/{asset['id']}"
    got = client.get(
        asset["links"]["self"].removeprefix("https://testserver"), headers=world.auth()
    ).json()
    assert (got["html_body"], got["url"], got["library_asset_id"]) == (
        "<p>Hello</p>",
        None,
        article.id,
    )
    base = f"/v3/tasks/{task}/assets/{asset['id']}"
    assert client.get(f"{base}/drafts", headers=world.auth()).json()["data"] == []
    assert add_draft(client, world, task, asset["id"], jpeg()).status_code == 422
    assert events(db, "task_asset_added") == [asset_event(task, asset["id"], "articles")]


def test_fork_refusals(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    lib = library_image(client, world, jpeg())
    r = fork(client, world, task, lib, "structured_content")
    assert r.status_code == 422 and "structured_content" in r.json()["message"]
    r = fork(client, world, task, "0" * 32)
    assert r.status_code == 404 and "content_id" in r.json()["errors"]
    assert fork(client, world, task, lib, "video").status_code == 404
    # Library assets are private to their owner until shared: the member may not view it.
    assert fork(client, world, task, lib, who="member").status_code == 403
    assert fork(client, world, task, lib, who="viewer").status_code == 403
    other = build_world(db, org_name="Other", prefix="other-")
    assert fork(client, other, new_task(client, other), lib).status_code == 404
    body = {"type": "fork_from_library", "content_id": lib}
    r = client.post(f"/v3/tasks/{task}/assets", json=body, headers=world.auth())
    assert r.status_code == 422 and "content_type" in r.json()["errors"]
    assert count(db, TaskAsset) == 0 and events(db, "task_asset_added") == []


# -- drafts ------------------------------------------------------------------------------


def test_drafts_are_numbered_and_recorded(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg(10, 10), "Poster")["id"]
    r = add_draft(client, world, task, aid, jpeg(20, 10), "Poster", who="member")
    assert r.status_code == 201, r.text
    second = r.json()
    assert (second["draft_number"], second["asset_id"], second["type"]) == (2, aid, "image")
    assert second["links"] == {
        "asset": f"{API}/tasks/{task}/images/{aid}",
        "task": f"{API}/tasks/{task}",
    }
    third_data = jpeg(30, 10)
    third = add_draft(client, world, task, aid, third_data, "Poster v3").json()
    assert third["draft_number"] == 3
    assert sha(download(client, third["content"]["value"])) == sha(third_data)
    listed = client.get(f"/v3/tasks/{task}/assets/{aid}/drafts", headers=world.auth()).json()
    assert [(d["draft_number"], d["title"]) for d in listed["data"]] == [
        (1, "Poster"),
        (2, "Poster"),
        (3, "Poster v3"),
    ]
    assert len({d["id"] for d in listed["data"]}) == 3
    image = client.get(f"/v3/tasks/{task}/images/{aid}", headers=world.auth()).json()
    assert (image["title"], image["image_resolution"]) == ("Poster v3", {"width": 30, "height": 10})
    ref = asset_event(task, aid, "images")
    assert events(db, "task_asset_draft_added") == [ref, ref]
    assert events(db, "task_asset_modified") == [
        {**ref, "attributes_changed": ["versions"]},
        {**ref, "attributes_changed": ["title", "versions"]},
    ]


def test_draft_refusals_leave_nothing_behind(
    client, db: Session, world: World, settings: Settings
) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    r = add_draft(client, world, task, aid, PDF)
    assert r.status_code == 422 and "raw file" in r.json()["errors"]["key"]
    lib = library_image(client, world, jpeg())
    body = {"type": "fork_from_library", "content_id": lib, "content_type": "image"}
    r = client.post(f"/v3/tasks/{task}/assets/{aid}/drafts", json=body, headers=world.auth())
    assert r.status_code == 422 and "type" in r.json()["errors"]
    used = upload(client, world, jpeg())
    body = {"key": used, "title": "x"}
    assert (
        client.post(
            f"/v3/tasks/{task}/assets/{aid}/drafts", json=body, headers=world.auth()
        ).status_code
        == 201
    )
    r = client.post(f"/v3/tasks/{task}/assets/{aid}/drafts", json=body, headers=world.auth())
    assert r.status_code == 422 and "already used" in r.json()["errors"]["key"]
    assert count(db, TaskAssetDraft) == 2
    assert len(events(db, "task_asset_draft_added")) == 1
    assert objects(settings) == 3  # the library image, draft 1 and draft 2


# -- fields ------------------------------------------------------------------------------


class TestTaskAssetFields(ResourceTests):
    list_path = "/v3/tasks/{parent}/fields"  # parent: "<task id>/assets/<asset id>"
    item_path = None  # fields are read through the list

    def parent(self, db: Session, world: World) -> str:
        task = new_task(self.client, world)
        return f"{task}/assets/{added(self.client, world, task, jpeg())['id']}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        url = self.list_url(world)
        current = self.client.get(url, params={"page_size": 100}, headers=world.auth()).json()
        items = [{"id": f["id"], "type": "text", "values": f["values"]} for f in current["data"]]
        made = [make_field(db, world.org.id, "text", f"T{len(items) + i}").id for i in range(n)]
        items += [{"id": f, "type": "text", "values": ["v"]} for f in made]
        assert self.client.put(url, json=items, headers=world.auth()).status_code == 204
        return made


def test_fields_follow_the_library_rules(client, db: Session, world: World) -> None:
    text = make_field(db, world.org.id, "text", "Caption")
    dropdown = make_field(db, world.org.id, "dropdown", "Channel")
    choice = dropdown.choices[0].id
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    url = f"/v3/tasks/{task}/assets/{aid}/fields"
    body = [
        {"id": dropdown.id, "type": "dropdown", "values": [choice]},
        {"id": text.id, "type": "text", "values": ["Hello"]},
    ]
    r = client.put(url, json=body, headers=world.auth("member"))
    assert (r.status_code, r.content) == (204, b"")
    got = client.get(url, headers=world.auth("viewer")).json()["data"]
    assert [(f["id"], f["type"], f["values"]) for f in got] == [
        (dropdown.id, "dropdown", [choice]),
        (text.id, "text", ["Hello"]),
    ]
    # The same values again change nothing: no second event.
    assert client.put(url, json=body, headers=world.auth()).status_code == 204
    bad = [
        ([{"id": "0" * 24, "type": "text", "values": ["x"]}], "0.id"),
        ([{"id": text.id, "type": "text_area", "values": ["x"]}], "0.type"),
        ([{"id": text.id, "type": "text", "values": ["a", "b"]}], "0.values"),
        ([{"id": dropdown.id, "type": "dropdown", "values": ["nope"]}], "0.values"),
    ]
    for items, where in bad:
        r = client.put(url, json=items, headers=world.auth())
        assert r.status_code == 422 and where in r.json()["errors"], (items, r.text)
    assert client.put(url, json=[], headers=world.auth("viewer")).status_code == 403
    assert client.put(url, json=[{"bogus": 1}], headers=world.auth()).status_code == 422
    assert client.put(url, json=[], headers=world.auth()).status_code == 204
    assert client.get(url, headers=world.auth()).json()["data"] == []
    ref = asset_event(task, aid, "images")
    assert events(db, "task_asset_modified") == [
        {**ref, "attributes_changed": ["fields"]},
        {**ref, "attributes_changed": ["fields"]},  # emptied
    ]
    # Field values of task assets are their own: the library knows nothing of them.
    assert client.get("/v3/assets", headers=world.auth()).json()["data"] == []
