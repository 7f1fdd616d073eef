"""Campaigns: listCampaigns, createCampaign, getCampaign, updateCampaign and their webhook
events (campaign_added, campaign_metadata_modified)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.labels import service as labels
from tests.support.campaigns import create_campaign
from tests.support.mixins import ResourceTests
from tests.support.world import World, build_world

API = "https://testserver/v3"
FORBIDDEN = {"message": "You do not have the permission to perform this operation"}


def ids(client: Any, world: World, **params: Any) -> list[str]:
    r = client.get("/v3/campaigns", params={"page_size": 100, **params}, headers=world.auth())
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["data"]]


def events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    return [(r.event_name, r.data) for r in rows]


def footprint(db: Session) -> tuple[int, int]:
    """(campaigns, recorded events): a refused write adds to neither."""
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(Campaign))
    return int(count or 0), len(events(db))


class TestCampaigns(ResourceTests):
    list_path = "/v3/campaigns"
    item_path = "/v3/campaigns/{id}"
    create_path = "/v3/campaigns"
    create_data = [
        {"title": "Spring"},
        (
            {
                "title": " Summer ",
                "description": " All ",
                "start_date": "2030-03-01",
                "end_date": "2030-03-31",
                "color": "#ec2e3b",
            },
            {
                "title": "Summer",
                "description": "All",
                "start_date": "2030-03-01",
                "end_date": "2030-03-31",
            },
        ),
    ]
    invalid_create = [
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"title": "S", "color": "#123456"}, "color"),
        ({"title": "S", "start_date": "March"}, "start_date"),
        ({"title": "S", "start_date": "2030-03-02", "end_date": "2030-03-01"}, "end_date"),
        ({"title": "S", "owner_id": "0" * 32}, "owner_id"),
        ({"title": "S", "parent_campaign": "0" * 32}, "parent_campaign", 404),
    ]
    update_path = "/v3/campaigns/{id}"
    update_data = [{"title": "Summer", "start_date": "2030-06-01"}, {"end_date": "2030-07-01"}]
    invalid_update = [
        ({"title": " "}, "title"),
        ({"start_date": "2030-3-1"}, "start_date"),
        ({"owner_id": "0" * 32}, "owner_id"),
        ({"parent_campaign": None}, "parent_campaign"),
    ]

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [create_campaign(self.client, world, title=f"C{i}")["id"] for i in range(n)]


def test_create_get_and_list(client, db: Session, world: World) -> None:
    owner = world.users["member"].id
    made = create_campaign(
        client,
        world,
        title="  Spring launch ",
        description=" All of it ",
        start_date="2030-03-01",
        end_date="2030-03-31",
        color="#ec2e3b",
    )
    assert made == {
        "id": made["id"],
        "title": "Spring launch",
        "description": "All of it",
        "start_date": "2030-03-01",
        "end_date": "2030-03-31",
        "created_at": made["created_at"],
        "is_hidden": False,
        "status": "Not Started",
        "reference_id": "CPN-1",
        "budget": None,
        "labels": [],
        "links": {
            "self": f"{API}/campaigns/{made['id']}",
            "brief": None,
            "owner": f"{API}/users/{owner}",
            "parent_campaign": None,
            "child_campaigns": [],
        },
    }
    r = client.get(f"/v3/campaigns/{made['id']}", headers=world.auth("viewer"))
    assert r.status_code == 200 and r.json() == made
    (item,) = client.get("/v3/campaigns", headers=world.auth("viewer")).json()["data"]
    assert item == {
        "id": made["id"],
        "title": "Spring launch",
        "description": "All of it",
        "start_date": "2030-03-01",
        "end_date": "2030-03-31",
        "is_hidden": False,
        "reference_id": "CPN-1",
        "owner": {"id": owner},
        "links": {"self": f"{API}/campaigns/{made['id']}"},
    }
    plain = create_campaign(client, world, title="Plain", description="  ")
    assert (plain["description"], plain["start_date"], plain["end_date"]) == (None, None, None)
    assert plain["reference_id"] == "CPN-2"
    assert [e for e, _ in events(db)] == ["campaign_added", "campaign_added"]


def test_sub_campaigns_link_both_ways(client, world: World) -> None:
    parent = create_campaign(client, world, title="Parent")["id"]
    first = create_campaign(client, world, parent_campaign=parent)
    second = create_campaign(
        client, world, parent_campaign=parent, owner_id=world.users["admin"].id
    )
    assert first["links"]["parent_campaign"] == f"{API}/campaigns/{parent}"
    assert second["links"]["owner"] == f"{API}/users/{world.users['admin'].id}"
    got = client.get(f"/v3/campaigns/{parent}", headers=world.auth()).json()
    assert got["links"]["child_campaigns"] == [
        f"{API}/campaigns/{first['id']}",
        f"{API}/campaigns/{second['id']}",
    ]
    assert create_campaign(client, world, parent_campaign=None)["links"]["parent_campaign"] is None


def test_labels_are_rendered_from_the_stored_values(client, db: Session, world: World) -> None:
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    db.commit()
    made = create_campaign(client, world)
    row = db.get(Campaign, made["id"])
    assert row is not None
    row.labels = [group.values[1].id]
    db.commit()
    got = client.get(f"/v3/campaigns/{made['id']}", headers=world.auth()).json()
    assert got["labels"] == [
        {
            "group": {"id": group.id, "name": "Region"},
            "values": [{"id": group.values[1].id, "name": "APAC"}],
        }
    ]


def test_list_filters_and_order(client, world: World) -> None:
    member, admin = world.users["member"].id, world.users["admin"].id
    march = create_campaign(client, world, start_date="2030-03-01", end_date="2030-03-31")["id"]
    may = create_campaign(
        client, world, start_date="2030-05-01", end_date="2030-05-31", owner_id=admin
    )["id"]
    undated = create_campaign(client, world)["id"]
    assert ids(client, world) == [undated, may, march]  # newest first
    assert ids(client, world, owner=admin) == [may]
    assert ids(client, world, owner=member) == [undated, march]
    assert ids(client, world, start_date="2030-04-01") == [may]
    assert ids(client, world, start_date="2030-03-31T23:00:00Z") == [may, march]
    assert ids(client, world, end_date="2030-04-01T00:00:00.000Z") == [march]
    assert ids(client, world, start_date="2030-03-15", end_date="2030-05-01") == [may, march]
    assert ids(client, world, start_date="2031-01-01") == []
    assert ids(client, world, owner="0" * 32) == []
    for bad in ({"start_date": "soon"}, {"end_date": "2030-13-01"}):
        r = client.get("/v3/campaigns", params=bad, headers=world.auth())
        assert r.status_code == 400 and set(r.json()["errors"]) == set(bad)


def test_create_refusals_name_the_field_and_write_nothing(
    client, db: Session, world: World
) -> None:
    before = footprint(db)

    def refused(status: int = 422, who: str = "member", **extra: Any) -> Any:
        body = {"title": "Spring", **extra}
        r = client.post("/v3/campaigns", json=body, headers=world.auth(who))
        assert r.status_code == status, r.text
        return r.json()

    assert refused(title="  ")["errors"] == {"title": "Blank"}
    assert "title" in refused(title=None)["errors"]
    assert "color" in refused(color="#123456")["errors"]
    assert "start_date" in refused(start_date="March")["errors"]
    assert "bogus" in refused(bogus=1)["errors"]
    assert refused(start_date="2030-03-02", end_date="2030-03-01")["errors"] == {
        "end_date": "Before start_date"
    }
    assert refused(owner_id="0" * 32)["errors"] == {
        "owner_id": "No active user of the organization has this id"
    }
    other = build_world(db, org_name="Other", prefix="o-")
    assert "owner_id" in refused(owner_id=other.users["admin"].id)["errors"]
    assert refused(404, parent_campaign="0" * 32) == {
        "message": "Campaign not found",
        "errors": {"parent_campaign": "Unknown campaign"},
    }
    theirs = create_campaign(client, other, title="Theirs")["id"]
    assert refused(404, parent_campaign=theirs)["errors"] == {"parent_campaign": "Unknown campaign"}
    assert refused(403, "viewer") == FORBIDDEN
    assert client.post("/v3/campaigns", json={"title": "x"}).status_code == 401
    assert footprint(db) == (before[0] + 1, before[1] + 1)  # only the other org's campaign


def test_update_changes_the_given_keys_and_records_one_event(
    client, db: Session, world: World
) -> None:
    made = create_campaign(
        client, world, start_date="2030-03-01", end_date="2030-03-31", description="Keep"
    )
    url = f"/v3/campaigns/{made['id']}"
    change = {
        "title": " Summer ",
        "start_date": "2030-06-01",
        "end_date": None,
        "owner_id": world.users["admin"].id,
    }
    r = client.patch(url, json=change, headers=world.auth("member"))
    assert r.status_code == 204 and r.content == b""
    got = client.get(url, headers=world.auth()).json()
    assert got == {
        **made,
        "title": "Summer",
        "start_date": "2030-06-01",
        "end_date": None,
        "links": {**made["links"], "owner": f"{API}/users/{world.users['admin'].id}"},
    }
    modified = {"campaign": {"id": made["id"], "links": {"self": f"{API}{url[3:]}"}}}
    assert events(db)[1:] == [("campaign_metadata_modified", modified)]
    # Nothing to change (or the same values again): no event.
    assert client.patch(url, json={}, headers=world.auth()).status_code == 204
    assert client.patch(url, json={"title": "Summer"}, headers=world.auth()).status_code == 204
    assert len(events(db)) == 2


def test_update_refusals(client, db: Session, world: World) -> None:
    made = create_campaign(client, world, start_date="2030-03-01")
    url = f"/v3/campaigns/{made['id']}"
    before = footprint(db)

    def patch(payload: dict[str, Any], who: str = "member") -> Any:
        return client.patch(url, json=payload, headers=world.auth(who))

    for payload, field in (
        ({"title": " "}, "title"),
        ({"title": None}, "title"),
        ({"start_date": "2030-3-1"}, "start_date"),
        ({"end_date": "2030-02-28"}, "end_date"),
        ({"owner_id": "0" * 32}, "owner_id"),
        ({"parent_campaign": None}, "parent_campaign"),
    ):
        r = patch(payload)
        assert r.status_code == 422, payload
        assert field in r.json()["errors"], r.json()
    assert patch({"title": "New"}, "viewer").json() == FORBIDDEN
    assert client.patch(url, json={"title": "New"}).status_code == 401
    r = client.patch("/v3/campaigns/" + "0" * 32, json={"title": "x"}, headers=world.auth())
    assert r.status_code == 404
    other = build_world(db, org_name="Other", prefix="o-")
    assert client.patch(url, json={"title": "x"}, headers=other.auth()).status_code == 404
    assert client.get(url, headers=other.auth()).status_code == 404
    assert footprint(db) == before
    assert client.get(url, headers=world.auth()).json() == made
