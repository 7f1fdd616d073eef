"""The shared sub-resources on campaigns and events: getCampaignBrief,
addCommentToCampaign, addAttachmentToCampaign, listCampaignFields, addFieldToCampaign,
updateCampaignField, listEventFields, updateEventFields."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.http.links import Links
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.subresources import briefs
from cmpapi.server.resources.subresources.tables import Attachment, Comment
from tests.resources.test_fields import make_field
from tests.support.campaigns import create_campaign, create_event
from tests.support.uploads import upload
from tests.support.world import World, build_world
from tests.tasks.test_task_fields import events

API = "https://testserver/v3"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def count(db: Session, table: Any) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(table)) or 0)


def test_campaign_comments_and_attachments(client, db: Session, world: World) -> None:
    campaign = create_campaign(client, world)["id"]
    key = upload(client, world, PDF, "plan.pdf")
    body = {"value": "Looks good", "attachments": [{"name": "plan.pdf", "key": key}]}
    r = client.post(f"/v3/campaigns/{campaign}/comments", json=body, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    comment = r.json()
    assert comment["value"] == "Looks good" and comment["parent_comment_id"] is None
    assert comment["comment_by"] == world.users["member"].id
    assert comment["links"]["campaign"] == f"{API}/campaigns/{campaign}"
    (file,) = comment["attachments"]
    assert client.get(file["url"].removeprefix("https://testserver")).content == PDF

    key2 = upload(client, world, PDF, "budget.pdf")
    r = client.post(
        f"/v3/campaigns/{campaign}/attachments",
        json={"name": "budget.pdf", "key": key2},
        headers=world.auth("member"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "budget.pdf"
    assert client.get(r.json()["url"].removeprefix("https://testserver")).content == PDF


def test_campaign_comment_and_attachment_refusals_change_nothing(
    client, db: Session, world: World
) -> None:
    campaign = create_campaign(client, world)["id"]
    key = upload(client, world, PDF, "plan.pdf")
    before = (count(db, Comment), count(db, Attachment))
    url = f"/v3/campaigns/{campaign}"
    cases = [
        ("comments", {"value": "  "}, "member", 422, "value"),
        (
            "comments",
            {"value": "x", "attachments": [{"name": "a", "key": "f" * 32}]},
            "member",
            422,
            "attachments.0.key",
        ),
        ("comments", {"value": "x"}, "viewer", 403, None),
        ("attachments", {"name": "", "key": key}, "member", 422, "name"),
        ("attachments", {"name": "a.pdf", "key": "f" * 32}, "member", 422, "key"),
        ("attachments", {"name": "a.pdf", "key": key}, "viewer", 403, None),
        ("attachments", {"name": "a.pdf", "key": key, "extra": 1}, "member", 422, "extra"),
    ]
    for what, body, who, status, field in cases:
        r = client.post(f"{url}/{what}", json=body, headers=world.auth(who))
        assert r.status_code == status, (what, body, r.text)
        if field:
            assert field in r.json()["errors"], r.text
    assert (
        client.post(
            "/v3/campaigns/nope/comments", json={"value": "x"}, headers=world.auth()
        ).status_code
        == 404
    )
    other = build_world(db, org_name="Other", prefix="o-")
    assert (
        client.post(f"{url}/comments", json={"value": "x"}, headers=other.auth()).status_code == 404
    )
    assert (count(db, Comment), count(db, Attachment)) == before


def test_campaign_fields_and_their_events(client, db: Session, world: World) -> None:
    campaign = create_campaign(client, world)["id"]
    text = make_field(db, world.org.id, "text")
    url = f"/v3/campaigns/{campaign}/fields"
    assert client.get(url, headers=world.auth("viewer")).json()["data"] == []
    seen = len(events(db))
    r = client.post(
        url, json={"id": text.id, "type": "text", "values": ["Hi"]}, headers=world.auth("member")
    )
    assert r.status_code == 201, r.text
    again = client.post(
        url, json={"id": text.id, "type": "text", "values": ["Hi"]}, headers=world.auth("member")
    )
    assert again.status_code == 422
    assert again.json()["errors"] == {"id": "Already on the campaign: use updateCampaignField"}
    r = client.put(
        f"{url}/{text.id}", json={"type": "text", "values": ["Bye"]}, headers=world.auth("member")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": text.id,
        "name": text.name,
        "type": "text",
        "values": ["Bye"],
        "links": {
            "campaign": f"{API}/campaigns/{campaign}",
            "campaign_fields": f"{API}/campaigns/{campaign}/fields",
        },
    }
    (item,) = client.get(url, headers=world.auth("viewer")).json()["data"]
    assert item["values"] == ["Bye"]
    modified = (
        "campaign_metadata_modified",
        {"campaign": {"id": campaign, "links": {"self": f"{API}/campaigns/{campaign}"}}},
    )
    assert events(db)[seen:] == [modified, modified]
    other = make_field(db, world.org.id, "text", name="Other")
    r = client.put(
        f"{url}/{other.id}", json={"type": "text", "values": ["x"]}, headers=world.auth("member")
    )
    assert r.status_code == 404
    r = client.put(
        f"{url}/{text.id}", json={"type": "text", "values": ["x"]}, headers=world.auth("viewer")
    )
    assert r.status_code == 403


def test_campaign_brief_is_read_once_it_exists(client, db: Session, world: World) -> None:
    made = create_campaign(client, world)
    campaign = made["id"]
    assert made["links"]["brief"] is None
    assert client.get(f"/v3/campaigns/{campaign}/brief", headers=world.auth()).status_code == 404
    row = db.get(Campaign, campaign)
    assert row is not None
    seen = len(events(db))
    fields = [{"name": "Goal", "settings_field_id": None, "value": ["Leads"]}]
    briefs.put(
        db, Links("https://testserver"), CAMPAIGN, row, type="text", title="Why", fields=fields
    )
    db.commit()
    r = client.get(f"/v3/campaigns/{campaign}/brief", headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "type": "text",
        "title": "Why",
        "template": None,
        "fields": [{"name": "Goal", "value": ["Leads"]}],
        "links": {
            "self": f"{API}/campaigns/{campaign}/brief",
            "campaign": f"{API}/campaigns/{campaign}",
        },
    }
    got = client.get(f"/v3/campaigns/{campaign}", headers=world.auth()).json()
    assert got["links"]["brief"] == f"{API}/campaigns/{campaign}/brief"
    self_ = f"{API}/campaigns/{campaign}"
    assert events(db)[seen:] == [
        (
            "campaign_brief_added",
            {"campaign": {"id": campaign, "links": {"self": self_, "brief": f"{self_}/brief"}}},
        )
    ]


def test_event_fields_are_replaced_whole(client, db: Session, world: World) -> None:
    text = make_field(db, world.org.id, "text")
    event = create_event(client, world, fields=[{"id": text.id, "type": "text", "values": ["a"]}])
    url = f"/v3/events/{event['id']}/fields"
    (item,) = client.get(url, headers=world.auth("viewer")).json()["data"]
    assert (item["id"], item["values"]) == (text.id, ["a"])
    seen = len(events(db))
    area = make_field(db, world.org.id, "text_area")
    body = [{"id": area.id, "type": "text_area", "values": ["long"]}]
    r = client.put(url, json=body, headers=world.auth("member"))
    assert r.status_code == 204, r.text
    assert [f["id"] for f in client.get(url, headers=world.auth()).json()["data"]] == [area.id]
    assert [name for name, _ in events(db)[seen:]] == ["event_modified"]
    # The same set again changes nothing and records nothing.
    assert client.put(url, json=body, headers=world.auth("member")).status_code == 204
    assert len(events(db)) == seen + 1
    bad = [{"id": area.id, "type": "text", "values": ["x"]}]
    r = client.put(url, json=bad, headers=world.auth("member"))
    assert r.status_code == 422 and "0.type" in r.json()["errors"], r.text
    assert client.put(url, json=body, headers=world.auth("viewer")).status_code == 403
    assert [f["values"] for f in client.get(url, headers=world.auth()).json()["data"]] == [["long"]]
