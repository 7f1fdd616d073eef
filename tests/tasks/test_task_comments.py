"""Comments on tasks and sub-steps: the generic list/get rules, authors and admins,
replies, attachments (claimed, served, deleted), bad input, and the webhook events."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.identity import service as identity
from cmpapi.server.oauth import store
from tests.support.mixins import ResourceTests
from tests.support.tasks import app_token, create_task, make_workflow, sub_step_url
from tests.support.uploads import upload
from tests.support.world import World


def new_events(db: Session, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Outbox events recorded since the last call, sorted by name (one request's events;
    the order inside one request is the lead's concern, tests/tasks/test_workflow_flow)."""
    db.rollback()  # a fresh snapshot: the server committed in its own session
    rows = db.scalars(select(OutboxEvent)).all()
    fresh = [r for r in rows if r.id not in seen]
    seen.update(r.id for r in fresh)
    return sorted(((r.event_name, r.data) for r in fresh), key=lambda e: e[0])


def user_auth(db: Session, world: World, name: str, role: str = "member") -> dict[str, str]:
    """A token of a new user of the world's organization."""
    email = f"{name.lower()}-{world.org.id[:8]}@example.com"
    user = identity.create_user(db, world.org.id, email=email, name=name, role=role)
    token = store.issue_token(db, world.app, user.id, kind="access", ttl_seconds=3600)
    db.commit()
    return {"Authorization": f"Bearer {token.raw}"}


def download(client: Any, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def walk_to_external(client: Any, world: World, task: dict[str, Any]) -> None:
    """Finish step 1 of REVIEW_FLOW: the external ticket sub-step starts."""
    for n in range(2):
        r = client.patch(
            sub_step_url(task, 0, n), json={"is_completed": True}, headers=world.auth()
        )
        assert r.status_code == 200, r.text


@pytest.fixture
def task(client: Any, db: Session, world: World) -> dict[str, Any]:
    return create_task(client, world, make_workflow(db, world))


class TestSubStepComments(ResourceTests):
    list_path = "/v3/tasks/{parent}/comments"
    item_path = "/v3/tasks/{parent}/comments/{id}"
    create_path = list_path
    create_data = [{"value": "**Looks good**"}, {"value": "A reply", "parent_comment_id": "{top}"}]
    invalid_create = [
        ({"value": ""}, "value", 422),
        ({"value": None}, "value", 422),
        ({"value": "x", "parent_comment_id": "0" * 32}, "parent_comment_id", 422),
    ]
    update_path = item_path
    update_data = [{"value": "Edited"}, {"value": "Edited twice"}]
    invalid_update = [({"value": ""}, "value", 422)]
    delete_path = item_path
    writer = "admin"  # a member edits only their own comments

    @pytest.fixture(autouse=True)
    def _bind_world(self, world: World) -> None:
        self.world = world

    def parent(self, db: Session, world: World) -> str:
        task = create_task(self.client, world, make_workflow(db, world))
        return sub_step_url(task, 0, 0).removeprefix("/v3/tasks/")

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        return {"top": self.make(db, world, 1)[0]}

    def _item(self, item_id: str) -> str:
        return self.item_path.format(parent=self.parent_of(self.world), id=item_id)

    def make(self, db: Session, world: World, n: int) -> list[str]:
        url = self.list_path.format(parent=self.parent_of(world))
        made = []
        for i in range(n):
            r = self.client.post(url, json={"value": f"Note {i}"}, headers=world.auth())
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        return made


def test_comment_reply_and_their_events(client: Any, db: Session, world: World, task) -> None:
    url = sub_step_url(task, 0, 0) + "/comments"
    seen: set[str] = set()
    new_events(db, seen)
    member = world.auth("member")
    r = client.post(
        url, json={"value": "**Looks good** @[Ada](https://x/v3/users/1)"}, headers=member
    )
    assert r.status_code == 201, r.text
    top = r.json()
    assert top["value"] == "**Looks good** @[Ada](https://x/v3/users/1)"
    assert top["is_resolved"] is False and top["attachments"] == []
    assert top["created_at"] == top["modified_at"] and top["created_at"].endswith("Z")
    assert top["links"] == {
        "self": f"https://testserver{url}/{top['id']}",
        "comment_by": f"https://testserver/v3/users/{world.users['member'].id}",
        "task": f"https://testserver/v3/tasks/{task['id']}",
        "sub_step": f"https://testserver{sub_step_url(task, 0, 0)}",
    }
    ((name, data),) = new_events(db, seen)
    assert name == "workflow_sub_step_comment_added"
    assert data["comment"] == {"id": top["id"], "links": {"self": top["links"]["self"]}}
    assert data["sub_step"]["links"]["comments"] == f"https://testserver{url}"

    reply = client.post(
        url, json={"value": "Thanks", "parent_comment_id": top["id"]}, headers=world.auth()
    )
    assert reply.status_code == 201, reply.text
    assert new_events(db, seen) == []  # replies fire nothing
    edited = client.patch(
        f"{url}/{reply.json()['id']}", json={"value": "Thanks!"}, headers=world.auth()
    )
    assert edited.status_code == 200 and edited.json()["value"] == "Thanks!"
    assert new_events(db, seen) == []

    listed = client.get(url, headers=world.auth("viewer")).json()["data"]
    assert [c["id"] for c in listed] == [top["id"], reply.json()["id"]]  # oldest first
    got = client.get(f"{url}/{reply.json()['id']}", headers=world.auth("viewer"))
    assert got.status_code == 200 and got.json()["value"] == "Thanks!"

    assert (
        client.patch(f"{url}/{top['id']}", json={"value": "Edited"}, headers=member).status_code
        == 200
    )
    assert [n for n, _ in new_events(db, seen)] == ["workflow_sub_step_comment_modified"]
    assert client.delete(f"{url}/{top['id']}", headers=member).status_code == 204
    ((name, data),) = new_events(db, seen)
    assert name == "workflow_sub_step_comment_removed" and data["comment"] == {"id": top["id"]}
    # The replies went with their thread.
    assert client.get(f"{url}/{reply.json()['id']}", headers=member).status_code == 404
    assert client.get(url, headers=member).json()["data"] == []


def test_external_sub_step_comments_fire_external_events(
    client: Any, db: Session, world: World, task
) -> None:
    walk_to_external(client, world, task)
    url = sub_step_url(task, 1, 0) + "/comments"
    jira = app_token(db, world, "Jira")
    seen: set[str] = set()
    new_events(db, seen)
    r = client.post(url, json={"value": "Ticket MKT-1 created"}, headers=jira)
    assert r.status_code == 201, r.text
    comment = r.json()
    # An app's token acts as its token user: the comment is the admin's.
    assert comment["links"]["comment_by"].endswith(f"/users/{world.users['admin'].id}")
    (ext, ext_data), (wf, _) = new_events(db, seen)
    assert (ext, wf) == ("external_sub_step_comment_added", "workflow_sub_step_comment_added")
    assert ext_data["comment"]["links"]["self"] == comment["links"]["self"]
    assert ext_data["sub_step"]["links"]["comments"] == f"https://testserver{url}"
    assert "external_work" not in ext_data
    client.patch(f"{url}/{comment['id']}", json={"value": "MKT-1"}, headers=jira)
    assert [n for n, _ in new_events(db, seen)] == [
        "external_sub_step_comment_modified",
        "workflow_sub_step_comment_modified",
    ]
    client.delete(f"{url}/{comment['id']}", headers=world.auth())
    (ext, ext_data), (wf, _) = new_events(db, seen)
    assert (ext, wf) == ("external_sub_step_comment_removed", "workflow_sub_step_comment_removed")
    assert "self" not in ext_data["comment"]["links"]


def test_only_the_author_or_an_admin_changes_a_comment(
    client: Any, db: Session, world: World, task
) -> None:
    url = sub_step_url(task, 0, 0) + "/comments"
    author = world.auth("member")
    other = user_auth(db, world, "Otto")
    comment = client.post(url, json={"value": "Mine"}, headers=author).json()
    item = f"{url}/{comment['id']}"
    for headers in (other, world.auth("viewer")):
        assert client.patch(item, json={"value": "Hijack"}, headers=headers).status_code == 403
        assert client.delete(item, headers=headers).status_code == 403
    assert client.get(item, headers=other).json()["value"] == "Mine"
    assert client.post(url, json={"value": "Hi"}, headers=world.auth("viewer")).status_code == 403
    assert client.patch(item, json={"value": "Moderated"}, headers=world.auth()).status_code == 200
    assert client.delete(item, headers=world.auth()).status_code == 204


def test_reply_rules(client: Any, db: Session, world: World, task) -> None:
    url = sub_step_url(task, 0, 0) + "/comments"
    other_url = sub_step_url(task, 0, 1) + "/comments"
    auth = world.auth()
    top = client.post(url, json={"value": "Top"}, headers=auth).json()
    elsewhere = client.post(other_url, json={"value": "Elsewhere"}, headers=auth).json()
    for parent in ("0" * 32, elsewhere["id"]):
        r = client.post(url, json={"value": "Re", "parent_comment_id": parent}, headers=auth)
        assert r.status_code == 422 and "parent_comment_id" in r.json()["errors"]
    reply = client.post(url, json={"value": "Re", "parent_comment_id": top["id"]}, headers=auth)
    nested = client.post(
        url, json={"value": "Re re", "parent_comment_id": reply.json()["id"]}, headers=auth
    )
    assert nested.status_code == 201
    # A reply to a reply joins the thread: deleting the top-level comment removes both.
    assert client.delete(f"{url}/{top['id']}", headers=auth).status_code == 204
    assert client.get(url, headers=auth).json()["data"] == []
    # Deleting a reply leaves its thread alone.
    top = client.post(url, json={"value": "Top 2"}, headers=auth).json()
    reply = client.post(url, json={"value": "Re", "parent_comment_id": top["id"]}, headers=auth)
    assert client.delete(f"{url}/{reply.json()['id']}", headers=auth).status_code == 204
    assert [c["id"] for c in client.get(url, headers=auth).json()["data"]] == [top["id"]]


def test_attachments_are_claimed_served_and_deleted(
    client: Any, db: Session, world: World, task
) -> None:
    url = sub_step_url(task, 0, 0) + "/comments"
    auth = world.auth("member")
    form = client.get("/v3/upload-url", headers=auth).json()
    key = form["upload_meta_fields"]["key"]
    sent = client.post(
        form["url"],
        data=form["upload_meta_fields"],
        files={"file": ("brief.pdf", b"%PDF-1.4 brief")},
    )
    assert sent.status_code == 204
    body = {"value": "See attached", "attachments": [{"key": key, "name": "Brief v1.pdf"}]}
    r = client.post(url, json=body, headers=auth)
    assert r.status_code == 201, r.text
    (att,) = r.json()["attachments"]
    assert att["name"] == "Brief v1.pdf" and len(att["id"]) == 32
    served = download(client, att["url"])
    assert served.status_code == 200 and served.content == b"%PDF-1.4 brief"
    assert "Brief%20v1.pdf" in served.headers["content-disposition"]
    # The comment keeps its own copy: uploading to the key again does not change it.
    again = client.post(
        form["url"], data=form["upload_meta_fields"], files={"file": ("brief.pdf", b"%PDF-1.4 v2")}
    )
    assert again.status_code == 204
    assert download(client, att["url"]).content == b"%PDF-1.4 brief"
    reply = client.post(
        url,
        json={
            "value": "Also",
            "parent_comment_id": r.json()["id"],
            "attachments": [{"key": key, "name": "v2.pdf"}],
        },
        headers=auth,
    )
    assert reply.status_code == 201
    assert download(client, reply.json()["attachments"][0]["url"]).content == b"%PDF-1.4 v2"
    listed = client.get(url, headers=auth).json()["data"]
    assert [c["attachments"][0]["name"] for c in listed] == ["Brief v1.pdf", "v2.pdf"]
    got = client.get(f"{url}/{r.json()['id']}", headers=auth).json()
    assert got["attachments"][0]["id"] == att["id"]
    # Comment files are the task's attachments too, until their comment goes.
    task_files = f"/v3/tasks/{task['id']}/attachments"
    listed = client.get(task_files, headers=auth).json()["data"]
    assert sorted(a["name"] for a in listed) == ["Brief v1.pdf", "v2.pdf"]
    urls = [att["url"], reply.json()["attachments"][0]["url"]]
    assert client.delete(f"{url}/{r.json()['id']}", headers=auth).status_code == 204
    for gone in urls:  # the files of the comment and of its reply were deleted
        assert download(client, gone).status_code == 404
    assert client.get(task_files, headers=auth).json()["data"] == []


def test_bad_input_is_refused_and_nothing_is_kept(
    client: Any, db: Session, world: World, task, app
) -> None:
    url = sub_step_url(task, 0, 0) + "/comments"
    auth = world.auth()
    good = upload(client, world, b"data", "a.txt")

    def refused(body: Any, field: str, status: int = 422) -> None:
        r = client.post(url, json=body, headers=auth)
        assert r.status_code == status, r.text
        assert field in r.json()["errors"], r.json()

    refused({"value": "  \n "}, "value")
    refused({"value": ""}, "value")
    refused({}, "value")
    refused({"value": "x" * 50_001}, "value")
    refused({"value": "x", "bogus": 1}, "bogus")
    refused({"value": "x", "attachments": [{"key": good}]}, "attachments.0.name")
    refused(
        {
            "value": "x",
            "attachments": [{"key": good, "name": "a.txt"}, {"key": "f" * 32, "name": "b.txt"}],
        },
        "attachments.1.key",
    )
    refused({"value": "x", "attachments": [{"key": good, "name": "n" * 256}]}, "attachments.0.name")
    many = [{"key": good, "name": f"{i}.txt"} for i in range(21)]
    refused({"value": "x", "attachments": many}, "attachments")
    # A key of the organization that nothing was uploaded with: the first file was
    # already copied when the second is found empty.
    empty_key = client.get("/v3/upload-url", headers=auth).json()["upload_meta_fields"]["key"]
    refused(
        {
            "value": "x",
            "attachments": [{"key": good, "name": "a.txt"}, {"key": empty_key, "name": "b.txt"}],
        },
        "attachments.1.key",
    )
    assert client.get(url, headers=auth).json()["data"] == []
    copies = app.state.settings.data_dir / "objects" / "task-comments"
    assert not copies.exists() or not any(copies.iterdir())  # no copy was left behind
    # A reply to an unknown parent after its file was copied: the copy is deleted too.
    refused(
        {
            "value": "x",
            "parent_comment_id": "nope",
            "attachments": [{"key": good, "name": "a.txt"}],
        },
        "parent_comment_id",
    )
    assert not copies.exists() or not any(copies.iterdir())


def test_wrong_paths_are_404(client: Any, db: Session, world: World, task) -> None:
    auth = world.auth()
    s0, s1 = task["steps"][0], task["steps"][1]
    url = sub_step_url(task, 0, 0) + "/comments"
    comment = client.post(url, json={"value": "Here"}, headers=auth).json()
    wrong = [
        f"/v3/tasks/{'0' * 32}/steps/{s0['id']}/sub-steps/{s0['sub_steps'][0]['id']}/comments",
        f"/v3/tasks/{task['id']}/steps/{s1['id']}/sub-steps/{s0['sub_steps'][0]['id']}/comments",
        f"/v3/tasks/{task['id']}/steps/{s0['id']}/sub-steps/{'0' * 32}/comments",
    ]
    for path in wrong:
        assert client.get(path, headers=auth).status_code == 404
        assert client.post(path, json={"value": "x"}, headers=auth).status_code == 404
        assert client.get(f"{path}/{comment['id']}", headers=auth).status_code == 404
    # A comment is only found under its own sub-step.
    other = sub_step_url(task, 0, 1) + f"/comments/{comment['id']}"
    assert client.get(other, headers=auth).status_code == 404
    assert client.patch(other, json={"value": "x"}, headers=auth).status_code == 404
    assert client.delete(other, headers=auth).status_code == 404
    assert client.patch(f"{url}/{comment['id']}", json={}, headers=auth).status_code == 422


def test_task_comment(client: Any, db: Session, world: World, task) -> None:
    url = f"/v3/tasks/{task['id']}/comments"
    seen: set[str] = set()
    new_events(db, seen)
    key = upload(client, world, b"notes", "notes.txt")
    body = {"value": "Kick-off notes", "attachments": [{"key": key, "name": "notes.txt"}]}
    r = client.post(url, json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    got = r.json()
    member = world.users["member"].id
    assert got["comment_by"] == member and got["parent_comment_id"] is None
    assert got["links"] == {
        "task": f"https://testserver/v3/tasks/{task['id']}",
        "comment_by": f"https://testserver/v3/users/{member}",
    }
    assert download(client, got["attachments"][0]["url"]).content == b"notes"
    attached = client.get(f"/v3/tasks/{task['id']}/attachments", headers=world.auth()).json()
    assert [a["name"] for a in attached["data"]] == ["notes.txt"]
    assert new_events(db, seen) == []  # the catalog has no task comment event
    assert client.post(url, json=body, headers=world.auth("viewer")).status_code == 403
    missing = client.post(f"/v3/tasks/{'0' * 32}/comments", json=body, headers=world.auth())
    assert missing.status_code == 404
    assert client.post(url, json={"value": " "}, headers=world.auth()).status_code == 422
    # Task comments are not sub-step comments.
    assert (
        client.get(sub_step_url(task, 0, 0) + "/comments", headers=world.auth()).json()["data"]
        == []
    )
