"""Task metadata: listTaskAttachments (files from other modules, links), getTaskBrief (and
the brief API for the modules that make briefs), addUrlToTask, createTaskPublishingIntent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.errors import Invalid
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources import attachments as shared_attachments
from cmpapi.server.resources.subresources.tables import Attachment
from cmpapi.server.resources.tasks import metadata_service
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.server.resources.tasks.tables import Task
from tests.support.mixins import ResourceTests
from tests.support.publishing import add_channel
from tests.support.tasks import create_task
from tests.support.uploads import upload
from tests.support.world import World, build_world

API = "https://testserver/v3"
LINKS = Links("https://testserver")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def new_task(client: Any, world: World) -> str:
    return str(create_task(client, world, None)["id"])


def task_row(db: Session, task_id: str) -> Task:
    db.expire_all()
    task = db.get(Task, task_id)
    assert task is not None
    return task


def events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    return [(r.event_name, r.data) for r in rows if r.event_name != "task_added"]


def attachments(client: Any, world: World, task: str, who: str = "admin") -> Any:
    return client.get(
        f"/v3/tasks/{task}/attachments", params={"page_size": 100}, headers=world.auth(who)
    )


def add_url(client: Any, world: World, task: str, who: str = "member", **body: Any) -> Any:
    return client.post(f"/v3/tasks/{task}/urls", json=body, headers=world.auth(who))


# -- attachments -------------------------------------------------------------------------


def test_files_and_links_are_the_tasks_attachments(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    assert attachments(client, world, task).json()["data"] == []
    key = upload(client, world, PDF, "brief.pdf")
    comment = new_id()
    # What the comments module does when a comment carries a file.
    row = shared_attachments.add_file(
        db,
        TASK,
        task_row(db, task),
        name="brief.pdf",
        storage_key=key,
        mime_type="application/pdf",
        size=len(PDF),
        created_by=world.users["member"].id,
        source=("comment", comment),
    )
    db.commit()
    link = add_url(client, world, task, url="https://example.com/spec", title="Spec")
    assert link.status_code == 201, link.text
    bare = add_url(client, world, task, url="https://example.com/x?y=1")
    r = attachments(client, world, task, "viewer")
    assert r.status_code == 200, r.text
    file, named, unnamed = r.json()["data"]
    assert (file["id"], file["name"]) == (row.id, "brief.pdf")
    download = client.get(file["url"].removeprefix("https://testserver"))
    assert download.status_code == 200 and download.content == PDF
    assert named == {"id": link.json()["id"], "name": "Spec", "url": "https://example.com/spec"}
    assert unnamed == {
        "id": bare.json()["id"],
        "name": "https://example.com/x?y=1",
        "url": "https://example.com/x?y=1",
    }
    # The comment goes away: so does its file (the storage object stays the caller's).
    keys = shared_attachments.forget_source(db, world.org.id, "comment", comment)
    db.commit()
    assert keys == [key]
    assert [a["id"] for a in attachments(client, world, task).json()["data"]] == [
        link.json()["id"],
        bare.json()["id"],
    ]


def test_attachment_names_are_checked(client, db: Session, world: World) -> None:
    task = task_row(db, new_task(client, world))
    for name in ("", "  ", "x" * 256):
        with pytest.raises(Invalid) as caught:
            shared_attachments.add_file(
                db, TASK, task, name=name, storage_key="k", mime_type="text/plain", size=1
            )
        assert caught.value.errors == {"name": "1 to 255 characters"}
    db.rollback()
    assert db.scalars(select(Attachment)).all() == []


def test_attachments_of_other_organizations_are_invisible(
    client, db: Session, world: World
) -> None:
    task = new_task(client, world)
    other = build_world(db, org_name="Other", prefix="o-")
    assert attachments(client, other, task).status_code == 404
    assert client.get(f"/v3/tasks/{task}/attachments").status_code == 401


class TestTaskAttachments(ResourceTests):
    list_path = "/v3/tasks/{parent}/attachments"
    item_path = None  # the spec has no single-attachment operation

    def parent(self, db: Session, world: World) -> str:
        return new_task(self.client, world)

    def make(self, db: Session, world: World, n: int) -> list[str]:
        task = self.parent_of(world)
        return [
            add_url(self.client, world, task, url=f"https://example.com/{i}").json()["id"]
            for i in range(n)
        ]


# -- URLs --------------------------------------------------------------------------------


def test_add_url_answers_its_id_and_time(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    r = add_url(client, world, task, url="  https://example.com/a  ", title=" A ")
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id", "created_at"} and r.json()["created_at"].endswith("Z")
    stored = db.get(Attachment, r.json()["id"])
    assert stored is not None and (stored.url, stored.name) == ("https://example.com/a", "A")
    assert events(db) == []  # the CMP has no event for links


def test_add_url_refusals(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    for url in (
        "ftp://example.com/a",
        "example.com",
        "/relative",
        "https://",
        "",
        "https://example.com/" + "x" * 2048,
    ):
        r = add_url(client, world, task, url=url)
        assert r.status_code == 422, url
        assert r.json()["errors"] == {"url": "An absolute http(s) URL of at most 2048 characters"}
    r = add_url(client, world, task, url="https://example.com", title="t" * 256)
    assert r.status_code == 422 and r.json()["errors"] == {"title": "At most 255 characters"}
    assert add_url(client, world, task, title="no url").status_code == 422
    assert add_url(client, world, task, url="https://e.com", bogus=1).status_code == 422
    assert add_url(client, world, task, "viewer", url="https://e.com").status_code == 403
    assert client.post(f"/v3/tasks/{task}/urls", json={"url": "https://e.com"}).status_code == 401
    other = build_world(db, org_name="Other", prefix="o-")
    r = client.post(f"/v3/tasks/{task}/urls", json={"url": "https://e.com"}, headers=other.auth())
    assert r.status_code == 404
    task_row(db, task).is_archived = True
    db.commit()
    r = add_url(client, world, task, url="https://e.com")
    assert r.status_code == 422 and r.json()["errors"] == {
        "task_id": "Archived tasks cannot change"
    }
    assert db.scalars(select(Attachment)).all() == []


# -- publishing intents ------------------------------------------------------------------


def test_publishing_intents(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    url = f"/v3/tasks/{task}/publishing-intents"
    web, blog = add_channel(db, world, "Web"), add_channel(db, world, "Blog")
    paused = add_channel(db, world, "Paused", disabled=True)

    def post(channel: Any, who: str = "member") -> Any:
        return client.post(url, json={"channel_id": channel}, headers=world.auth(who))

    first = post(web)
    assert first.status_code == 201, first.text
    assert set(first.json()) == {"id"}
    assert post(web).json() == first.json()  # one per channel
    assert post(blog).json()["id"] != first.json()["id"]
    for unknown in ("", "   ", "c" * 65, "6a2fd16faec3bed9c72f7d4f"):
        r = post(unknown)
        assert r.status_code == 404, unknown
        assert r.json()["errors"] == {"channel_id": "No such publishing channel"}
    r = post(paused)
    assert r.status_code == 422 and r.json()["errors"] == {"channel_id": "Disabled channel"}
    assert post(None).status_code == 422
    assert post(web, "viewer").status_code == 403
    assert client.post(url, json={"channel_id": web}).status_code == 401
    other = build_world(db, org_name="Other", prefix="o-")
    r = client.post(url, json={"channel_id": web}, headers=other.auth())
    assert r.status_code == 404
    mine = add_channel(db, other, "Theirs")
    assert post(mine).status_code == 404  # another organization's channel


# -- brief -------------------------------------------------------------------------------


def test_a_task_without_a_brief_is_404(client, db: Session, world: World) -> None:
    task = new_task(client, world)
    r = client.get(f"/v3/tasks/{task}/brief", headers=world.auth("viewer"))
    assert r.status_code == 404
    assert r.json() == {"message": "The task has no brief"}
    assert client.get(f"/v3/tasks/{task}/brief").status_code == 401
    assert client.get(f"/v3/tasks/{'0' * 32}/brief", headers=world.auth()).status_code == 404


def test_briefs_are_read_and_their_changes_recorded(client, db: Session, world: World) -> None:
    task_id = new_task(client, world)
    task = task_row(db, task_id)
    fields = [
        {"name": "Audience", "settings_field_id": None, "value": ["Developers"]},
        {"name": "Channel", "settings_field_id": "f" * 32, "value": ["Web", "Email"]},
    ]
    metadata_service.set_task_brief(
        db,
        LINKS,
        task,
        type="template",
        title="Launch brief",
        fields=fields,
        template=("t" * 32, "Launch"),
    )
    db.commit()
    url = f"/v3/tasks/{task_id}/brief"
    r = client.get(url, headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "type": "template",
        "title": "Launch brief",
        "template": {"id": "t" * 32, "name": "Launch"},
        "fields": fields,
        "links": {"self": f"{API}/tasks/{task_id}/brief", "task": f"{API}/tasks/{task_id}"},
    }
    metadata_service.set_task_brief(db, LINKS, task, type="text", title="Plain")
    db.commit()
    plain = client.get(url, headers=world.auth()).json()
    assert (plain["type"], plain["template"], plain["fields"]) == ("text", None, [])
    assert metadata_service.remove_task_brief(db, LINKS, task)
    assert not metadata_service.remove_task_brief(db, LINKS, task)
    db.commit()
    assert client.get(url, headers=world.auth()).status_code == 404
    with_brief = {
        "id": task_id,
        "links": {"self": f"{API}/tasks/{task_id}", "brief": f"{API}/tasks/{task_id}/brief"},
    }
    assert events(db) == [
        ("task_brief_added", {"task": with_brief}),
        ("task_brief_modified", {"task": with_brief}),
        (
            "task_brief_removed",
            {"task": {"id": task_id, "links": {"self": f"{API}/tasks/{task_id}"}}},
        ),
    ]
    other = build_world(db, org_name="Other", prefix="o-")
    assert client.get(url, headers=other.auth()).status_code == 404
