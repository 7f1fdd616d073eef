"""listTaskAssetComments and addCommentToTaskAsset: comments on the latest draft, their
author, attachments from upload keys, and the refusals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Repository
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.tasks.asset_tables import (
    TaskAssetComment,
    TaskAssetCommentAttachment,
)
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.settings import Settings
from tests.support.mixins import ResourceTests
from tests.support.uploads import jpeg, upload
from tests.support.world import World, build_world
from tests.tasks.test_task_assets import (
    API,
    PDF,
    add_draft,
    added,
    count,
    download,
    new_task,
    objects,
    sha,
)


def comment(
    client: Any, world: World, url: str, value: str = "Looks good", who: str = "admin", **extra: Any
) -> Any:
    return client.post(url, json={"value": value, **extra}, headers=world.auth(who))


class TestTaskAssetComments(ResourceTests):
    list_path = "/v3/tasks/{parent}/comments"  # parent: "<task id>/assets/<asset id>"
    item_path = None  # comments are read through the list

    def parent(self, db: Session, world: World) -> str:
        task = new_task(self.client, world)
        return f"{task}/assets/{added(self.client, world, task, jpeg())['id']}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        url = self.list_url(world)
        made = []
        for i in range(n):
            r = comment(self.client, world, url, f"Comment {i}")
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        return made

    def test_listed_oldest_first(self, client: Any, db: Session, world: World) -> None:
        made = self.make(db, world, 4)
        data = self._list(client, world, page_size=100).json()["data"]
        assert [c["id"] for c in data] == made


def test_comments_with_attachments_on_the_latest_draft(
    client, db: Session, world: World, settings: Settings
) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    url = f"/v3/tasks/{task}/assets/{aid}/comments"
    key = upload(client, world, PDF)
    attachments = [{"key": key, "name": "notes.pdf"}]
    r = comment(client, world, url, "See @[Member](x)", who="member", attachments=attachments)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["value"], first["is_resolved"]) == ("See @[Member](x)", False)
    assert first["links"] == {
        "task": f"{API}/tasks/{task}",
        "asset": f"{API}/tasks/{task}/images/{aid}",
    }
    (attachment,) = first["attachments"]
    assert attachment["name"] == "notes.pdf"
    assert sha(download(client, attachment["url"])) == sha(PDF)
    db.rollback()
    row = db.get(TaskAssetComment, first["id"])
    assert row is not None and row.author_id == world.users["member"].id
    (listed,) = client.get(url, headers=world.auth("viewer")).json()["data"]
    # Download URLs are signed per response (their expiry moves): compare the rest.
    assert listed["attachments"][0].pop("url") and first["attachments"][0].pop("url")
    assert listed == first
    # A new draft starts a new conversation: the list shows the latest draft's comments.
    assert add_draft(client, world, task, aid, jpeg(12, 12)).status_code == 201
    assert client.get(url, headers=world.auth()).json()["data"] == []
    second = comment(client, world, url, "On draft 2").json()
    assert second["attachments"] == []
    assert [c["id"] for c in client.get(url, headers=world.auth()).json()["data"]] == [second["id"]]
    assert objects(settings) == 3  # draft 1, the attachment, draft 2


def test_comment_refusals_leave_nothing_behind(
    client, db: Session, world: World, settings: Settings
) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    url = f"/v3/tasks/{task}/assets/{aid}/comments"
    assert comment(client, world, url, "   ").status_code == 422
    assert comment(client, world, url, "").status_code == 422
    assert comment(client, world, url, "x", parent_id="0" * 32).status_code == 422
    assert comment(client, world, url, who="viewer").status_code == 403
    assert client.post(url, json={"value": "x"}).status_code == 401
    good = upload(client, world, jpeg())
    other = build_world(db, org_name="Other", prefix="other-")
    foreign = upload(client, other, jpeg())
    issued = client.get("/v3/upload-url", headers=world.auth()).json()["upload_meta_fields"]["key"]
    for items, where in (
        ([{"key": good, "name": "a"}, {"key": "f" * 32, "name": "b"}], "attachments.1.key"),
        ([{"key": foreign, "name": "a"}], "attachments.0.key"),
        ([{"key": good, "name": "a"}, {"key": issued, "name": "b"}], "attachments.1.key"),
        ([{"key": good, "name": "a"}, {"key": good, "name": "b"}], "attachments.1.key"),
    ):
        r = comment(client, world, url, attachments=items)
        assert r.status_code == 422 and where in r.json()["errors"], (items, r.text)
    assert comment(client, world, url, attachments=[{"key": good}]).status_code == 422
    assert count(db, TaskAssetComment) == 0 and count(db, TaskAssetCommentAttachment) == 0
    assert objects(settings) == 1  # draft 1 only: refused attachments' copies are gone
    # A key consumed by a draft cannot become an attachment, nor the other way round.
    draft_key = upload(client, world, jpeg(3, 3))
    body = {"key": draft_key, "title": "d2"}
    r = client.post(f"/v3/tasks/{task}/assets/{aid}/drafts", json=body, headers=world.auth())
    assert r.status_code == 201
    r = comment(client, world, url, attachments=[{"key": draft_key, "name": "x"}])
    assert r.status_code == 422 and "already used" in r.json()["errors"]["attachments.0.key"]
    assert comment(client, world, url, attachments=[{"key": good, "name": "g"}]).status_code == 201
    body = {"key": good, "title": "d3"}
    r = client.post(f"/v3/tasks/{task}/assets/{aid}/drafts", json=body, headers=world.auth())
    assert r.status_code == 422 and "already used" in r.json()["errors"]["key"]


def test_limits_and_archived_tasks(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    aid = added(client, world, task, jpeg())["id"]
    url = f"/v3/tasks/{task}/assets/{aid}/comments"
    r = comment(client, world, url, "x" * 50_001)
    assert r.status_code == 422 and "value" in r.json()["errors"]
    many = [{"key": "f" * 32, "name": f"n{i}"} for i in range(21)]
    r = comment(client, world, url, attachments=many)
    assert r.status_code == 422 and "attachments" in r.json()["errors"]
    r = comment(client, world, url, attachments=[{"key": "f" * 32, "name": "n" * 256}])
    assert r.status_code == 422 and "attachments.0.name" in r.json()["errors"]
    row = db.get(Task, task)
    assert row is not None
    row.is_archived = True
    db.commit()
    # Comments are conversation: archived tasks still take them (as sub-step comments do).
    assert comment(client, world, url, "Archived, but noted").status_code == 201


def test_articles_take_no_comments(client, db: Session, world: World) -> None:
    article = Repository(Asset, db, world.org.id).add(
        Asset(
            id=new_id(),
            type="article",
            title="Post",
            mime_type="text/html",
            html_body="<p>x</p>",
            owner_id=world.users["admin"].id,
        )
    )
    db.commit()
    task = new_task(client, world)
    body = {"type": "fork_from_library", "content_id": article.id, "content_type": "article"}
    aid = client.post(f"/v3/tasks/{task}/assets", json=body, headers=world.auth()).json()["id"]
    url = f"/v3/tasks/{task}/assets/{aid}/comments"
    assert comment(client, world, url).status_code == 422
    assert client.get(url, headers=world.auth()).json()["data"] == []
    db.rollback()
    assert db.scalars(select(TaskAssetComment)).all() == []
