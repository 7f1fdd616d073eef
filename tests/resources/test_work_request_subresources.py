"""The shared sub-resources on work requests (listWorkRequestComments,
addCommentToWorkRequest, getWorkRequestComment, addAttachmentToWorkRequest,
deleteWorkRequestAttachment) and starting work from a request
(createTaskFromWorkRequest, createCampaignFromWorkRequest)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.subresources.tables import Attachment, Brief, Comment
from cmpapi.server.resources.tasks.tables import Task
from tests.support.campaigns import create_campaign
from tests.support.uploads import upload
from tests.support.work_requests import create_work_request, import_template, request_body
from tests.support.world import World, build_world
from tests.tasks.test_task_fields import events

API = "https://testserver/v3"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def new_request(client: Any, world: World, **extra: Any) -> str:
    r = create_work_request(client, world, import_template(client, world), **extra)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def count(db: Session, table: Any) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(table)) or 0)


def test_comments_replies_and_their_events(client, db: Session, world: World) -> None:
    wr = new_request(client, world)
    url = f"/v3/work-requests/{wr}/comments"
    seen = len(events(db))
    r = client.post(url, json={"value": "When?"}, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["links"] == {
        "work_request": f"{API}/work-requests/{wr}",
        "comment_by": f"{API}/users/{world.users['member'].id}",
    }
    reply = client.post(
        url, json={"value": "Friday", "parent_comment_id": first["id"]}, headers=world.auth()
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["parent_comment_id"] == first["id"]
    listed = client.get(url, headers=world.auth("viewer")).json()["data"]
    assert [c["id"] for c in listed] == [first["id"], reply.json()["id"]]
    got = client.get(f"{url}/{reply.json()['id']}", headers=world.auth("viewer"))
    assert got.status_code == 200 and got.json() == reply.json()
    base = f"{API}/work-requests/{wr}"
    # Replies fire no event; the top-level comment does.
    assert events(db)[seen:] == [
        (
            "work_request_comment_added",
            {
                "work_request": {"id": wr, "links": {"self": base, "comments": f"{base}/comments"}},
                "comment": {"id": first["id"], "links": {"self": f"{base}/comments/{first['id']}"}},
            },
        )
    ]
    other = new_request(client, world)
    assert (
        client.get(
            f"/v3/work-requests/{other}/comments/{first['id']}", headers=world.auth()
        ).status_code
        == 404
    )
    bad = client.post(url, json={"value": "x", "parent_comment_id": "nope"}, headers=world.auth())
    assert bad.status_code == 422 and "parent_comment_id" in bad.json()["errors"]


def test_attachments_are_added_and_deleted(client, db: Session, world: World) -> None:
    wr = new_request(client, world)
    key = upload(client, world, PDF, "brief.pdf")
    url = f"/v3/work-requests/{wr}/attachments"
    r = client.post(url, json={"name": "brief.pdf", "key": key}, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert client.get(made["url"].removeprefix("https://testserver")).content == PDF
    viewer = client.delete(f"{url}/{made['id']}", headers=world.auth("viewer"))
    assert viewer.status_code == 403
    assert client.delete(f"{url}/{made['id']}", headers=world.auth("member")).status_code == 204
    assert client.delete(f"{url}/{made['id']}", headers=world.auth("member")).status_code == 404
    assert client.get(made["url"].removeprefix("https://testserver")).status_code == 404
    assert count(db, Attachment) == 0


def test_refused_comments_and_attachments_change_nothing(client, db: Session, world: World) -> None:
    wr = new_request(client, world)
    key = upload(client, world, PDF, "brief.pdf")
    before = (count(db, Comment), count(db, Attachment))
    base = f"/v3/work-requests/{wr}"
    for path, body, who, status in [
        ("comments", {"value": ""}, "member", 422),
        ("comments", {"value": "x"}, "viewer", 403),
        ("comments", {"value": "x", "nope": 1}, "member", 422),
        ("attachments", {"name": "x" * 256, "key": key}, "member", 422),
        ("attachments", {"name": "a", "key": "f" * 32}, "member", 422),
        ("attachments", {"name": "a", "key": key}, "viewer", 403),
    ]:
        r = client.post(f"{base}/{path}", json=body, headers=world.auth(who))
        assert r.status_code == status, (path, body, r.text)
    other = build_world(db, org_name="Other", prefix="o-")
    assert (
        client.post(f"{base}/comments", json={"value": "x"}, headers=other.auth()).status_code
        == 404
    )
    assert (count(db, Comment), count(db, Attachment)) == before


def test_a_task_made_from_a_request_carries_its_brief(client, db: Session, world: World) -> None:
    template = import_template(client, world)
    hero = {"key": upload(client, world, PDF, "x.pdf"), "name": "hero.pdf"}
    body = request_body(template)
    body["form_fields"].append({"identifier": "creative_assets", "type": "file", "values": [hero]})
    r = client.post("/v3/work-requests", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    wr = r.json()["id"]
    campaign = create_campaign(client, world)["id"]
    body = {"campaign_id": campaign, "due_at": "2031-01-01T00:00:00Z"}
    r = client.post(f"/v3/work-requests/{wr}/tasks", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["title"] == "Spring launch" and task["due_at"] == "2031-01-01T00:00:00Z"
    got = client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()
    assert got["links"]["campaign"] == f"{API}/campaigns/{campaign}"
    assert got["links"]["brief"] == f"{API}/tasks/{task['id']}/brief"
    brief = client.get(f"/v3/tasks/{task['id']}/brief", headers=world.auth("viewer")).json()
    assert brief["type"] == "template" and brief["title"] == "Spring launch"
    assert {"name": "Channel", "settings_field_id": None, "value": ["Web"]} in brief["fields"]
    assert {"name": "Creative assets", "settings_field_id": None, "value": ["hero.pdf"]} in (
        brief["fields"]
    )
    related = client.get(f"/v3/work-requests/{wr}/related-resources", headers=world.auth())
    assert [(x["id"], x["resource_type"]) for x in related.json()["data"]] == [(task["id"], "task")]


def test_a_campaign_made_from_a_request(client, db: Session, world: World) -> None:
    wr = new_request(client, world)
    seen = len(events(db))
    body = {
        "title": "Spring",
        "start_date": "2031-03-01T00:00:00Z",
        "end_date": "2031-03-31T00:00:00Z",
    }
    r = client.post(f"/v3/work-requests/{wr}/campaigns", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["links"]["brief"] == f"{API}/campaigns/{made['id']}/brief"
    assert (
        client.get(
            made["links"]["brief"].removeprefix("https://testserver"), headers=world.auth()
        ).status_code
        == 200
    )
    names = [(n, d) for n, d in events(db)[seen:]]
    added = next(d for n, d in names if n == "campaign_added")
    assert added["campaign"]["links"]["work_request"] == f"{API}/work-requests/{wr}"
    related = client.get(f"/v3/work-requests/{wr}/related-resources", headers=world.auth())
    assert [x["id"] for x in related.json()["data"]] == [made["id"]]


def test_refused_starts_change_nothing(client, db: Session, world: World) -> None:
    wr = new_request(client, world)
    before = (count(db, Task), count(db, Campaign), count(db, Brief))
    base = f"/v3/work-requests/{wr}"
    cases = [
        ("tasks", {"campaign_id": "nope"}, "member", 404),
        ("tasks", {"owner_id": "nope"}, "member", 422),
        ("tasks", {}, "viewer", 403),
        ("campaigns", {"title": "X", "parent_campaign_id": "nope"}, "member", 404),
        (
            "campaigns",
            {"title": "X", "start_date": "2031-02-01", "end_date": "2031-01-01"},
            "member",
            422,
        ),
        ("campaigns", {"title": "X"}, "viewer", 403),
        ("campaigns", {"title": "X", "extra": 1}, "member", 422),
    ]
    for path, body, who, status in cases:
        r = client.post(f"{base}/{path}", json=body, headers=world.auth(who))
        assert r.status_code == status, (path, body, r.text)
    assert (
        client.post("/v3/work-requests/nope/tasks", json={}, headers=world.auth()).status_code
        == 404
    )
    assert (count(db, Task), count(db, Campaign), count(db, Brief)) == before
