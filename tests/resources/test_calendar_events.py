"""Calendar events (the spec's "Events"): listEvents, createEvent, getEvent, updateEvent and
their webhook events (event_added, event_modified)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.tables import FieldValue
from tests.support.campaigns import create_campaign, create_event, event_body
from tests.support.mixins import ResourceTests
from tests.support.world import World, build_world

API = "https://testserver/v3"
FORBIDDEN = {"message": "You do not have the permission to perform this operation"}


def ids(client: Any, world: World, **params: Any) -> list[str]:
    r = client.get("/v3/events", params={"page_size": 100, **params}, headers=world.auth())
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["data"]]


def events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    return [(r.event_name, r.data) for r in rows if not r.event_name.startswith("campaign_")]


def footprint(db: Session) -> tuple[int, int, int]:
    """(events, field values, recorded webhook events): a refused write adds to none."""
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(CalendarEvent)) or 0
    held = db.scalar(select(func.count()).select_from(FieldValue)) or 0
    return int(count), int(held), len(events(db))


def add_field(client: Any, world: World, type_: str = "text", **extra: Any) -> dict[str, Any]:
    body = {"name": f"Field {type_}", "type": type_, "is_active": True, **extra}
    r = client.post("/v3/fields", json=body, headers=world.auth("admin"))
    assert r.status_code == 201, r.text
    listed = client.get("/v3/fields", params={"ids": r.json()["id"]}, headers=world.auth())
    return dict(listed.json()["data"][0])


class TestCalendarEvents(ResourceTests):
    list_path = "/v3/events"
    item_path = "/v3/events/{id}"
    create_path = "/v3/events"
    create_data = [
        event_body(),
        (
            event_body(title=" Party ", description=" Drinks "),
            {"title": "Party", "description": "Drinks"},
        ),
    ]
    invalid_create = [
        (event_body(title=" "), "title"),
        (event_body(end_date="2030-05-01T17:59:59Z"), "end_date"),
        (event_body(start_date="2030-05-01T18:00:00"), "start_date"),  # no offset
        (event_body(is_all_day=None), "is_all_day"),
        (event_body(campaign_id="0" * 32), "campaign_id", 404),
    ]
    update_path = "/v3/events/{id}"
    update_data = [{"title": "After party"}, {"is_all_day": True}]
    invalid_update = [({"title": " "}, "title"), ({"end_date": "2000-01-01T00:00:00Z"}, "end_date")]

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [
            create_event(
                self.client,
                world,
                start_date=f"2030-01-{i + 1:02d}T00:00:00Z",
                end_date=f"2030-01-{i + 1:02d}T01:00:00Z",
            )["id"]
            for i in range(n)
        ]


def test_create_get_and_list(client, db: Session, world: World) -> None:
    campaign = create_campaign(client, world)["id"]
    made = create_event(
        client,
        world,
        campaign_id=campaign,
        description=" Drinks ",
        start_date="2030-05-01T20:00:00+02:00",
    )
    assert made == {
        "id": made["id"],
        "title": "Launch party",
        "description": "Drinks",
        "campaign_id": campaign,
        "start_date": "2030-05-01T18:00:00Z",
        "end_date": "2030-05-01T22:00:00Z",
        "is_all_day": False,
        "is_archived": False,
        "reference_id": "EVT-1",
        "created_by": world.users["member"].id,
        "links": {"self": f"{API}/events/{made['id']}", "campaign": f"{API}/campaigns/{campaign}"},
    }
    r = client.get(f"/v3/events/{made['id']}", headers=world.auth("viewer"))
    assert r.status_code == 200 and r.json() == made
    assert client.get("/v3/events", headers=world.auth("viewer")).json()["data"] == [made]
    plain = create_event(client, world, is_all_day=True)
    assert (plain["campaign_id"], plain["links"]["campaign"], plain["description"]) == (
        None,
        None,
        None,
    )
    assert (plain["is_all_day"], plain["reference_id"]) == (True, "EVT-2")
    added = [
        ("event_added", {"event": {"id": e["id"], "links": {"self": e["links"]["self"]}}})
        for e in (made, plain)
    ]
    assert events(db) == added


def test_fields_are_stored_for_the_event(client, db: Session, world: World) -> None:
    text = add_field(client, world)
    choice = add_field(
        client, world, "dropdown", choices=[{"name": "A"}, {"name": "B"}], is_multi_select=False
    )
    picked = choice["choices"][1]["id"]
    fields = [
        {"id": text["id"], "type": "text", "values": ["Hello"]},
        {"id": choice["id"], "type": "dropdown", "values": [picked]},
    ]
    made = create_event(client, world, fields=fields)
    held = values.owner_field_values(db, world.org.id, "event", made["id"])
    assert [(fv.field.id, fv.values) for fv in held] == [
        (text["id"], ["Hello"]),
        (choice["id"], [picked]),
    ]
    assert create_event(client, world, fields=[])["id"]


def test_list_filters_and_order(client, world: World) -> None:
    campaign = create_campaign(client, world)["id"]

    def at(start: str, end: str, **extra: Any) -> str:
        return str(create_event(client, world, start_date=start, end_date=end, **extra)["id"])

    late = at("2030-05-10T09:00:00Z", "2030-05-12T17:00:00Z")
    early = at("2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", campaign_id=campaign)
    mid = at("2030-05-05T09:00:00Z", "2030-05-06T17:00:00Z", campaign_id=campaign)
    assert ids(client, world) == [early, mid, late]
    assert ids(client, world, start_date="2030-05-06T00:00:00.000Z") == [mid, late]
    assert ids(client, world, end_date="2030-05-05T08:59:59Z") == [early]
    assert ids(client, world, end_date="2030-05-05") == [early, mid]  # the whole day
    assert ids(client, world, start_date="2030-05-02", end_date="2030-05-09") == [mid]
    assert ids(client, world, campaign_id=campaign) == [early, mid]
    assert ids(client, world, campaign_id=campaign, start_date="2030-05-02") == [mid]
    assert ids(client, world, campaign_id="0" * 32) == []
    for bad in ({"start_date": "soon"}, {"end_date": "2030-02-30"}):
        r = client.get("/v3/events", params=bad, headers=world.auth())
        assert r.status_code == 400 and set(r.json()["errors"]) == set(bad)


def test_create_refusals_name_the_field_and_write_nothing(
    client, db: Session, world: World
) -> None:
    text = add_field(client, world)
    other = build_world(db, org_name="Other", prefix="o-")
    theirs = create_campaign(client, other)["id"]
    before = footprint(db)

    def refused(status: int = 422, who: str = "member", **extra: Any) -> Any:
        r = client.post("/v3/events", json=event_body(**extra), headers=world.auth(who))
        assert r.status_code == status, r.text
        return r.json()

    assert refused(title=" ")["errors"] == {"title": "Blank"}
    assert refused(end_date="2030-05-01T17:59:59Z")["errors"] == {"end_date": "Before start_date"}
    assert "start_date" in refused(start_date="2030-05-01T18:00:00")["errors"]  # no offset
    assert "is_all_day" in refused(is_all_day=None)["errors"]
    assert "bogus" in refused(bogus=1)["errors"]
    for campaign in ("0" * 32, theirs):
        assert refused(404, campaign_id=campaign) == {
            "message": "Campaign not found",
            "errors": {"campaign_id": "Unknown campaign"},
        }
    bad_fields = [
        {"id": text["id"], "type": "text", "values": ["ok"]},
        {"id": "0" * 32, "type": "text", "values": ["x"]},
        {"id": text["id"], "type": "text", "values": ["again"]},
    ]
    assert refused(fields=bad_fields)["errors"] == {
        "fields.1.id": "Unknown field",
        "fields.2.id": "Field given more than once",
    }
    assert refused(403, "viewer") == FORBIDDEN
    assert client.post("/v3/events", json=event_body()).status_code == 401
    assert footprint(db) == before


def test_update_changes_the_given_keys_and_records_changes(
    client, db: Session, world: World
) -> None:
    made = create_event(client, world, description="Keep")
    url = f"/v3/events/{made['id']}"
    change = {"title": " After party ", "end_date": "2030-05-02T01:00:00+01:00", "is_all_day": True}
    r = client.patch(url, json=change, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        **made,
        "title": "After party",
        "end_date": "2030-05-02T00:00:00Z",
        "is_all_day": True,
    }
    assert client.get(url, headers=world.auth()).json() == r.json()
    r = client.patch(url, json={"description": ""}, headers=world.auth())
    assert r.json()["description"] is None
    modified = (
        "event_modified",
        {"event": {"id": made["id"], "links": {"self": made["links"]["self"]}}},
    )
    assert events(db)[1:] == [modified, modified]
    # Nothing to change (or the same values again): no event.
    assert client.patch(url, json={}, headers=world.auth()).json() == {**r.json()}
    assert client.patch(url, json={"is_all_day": True}, headers=world.auth()).status_code == 200
    assert len(events(db)) == 3


def test_update_refusals(client, db: Session, world: World) -> None:
    made = create_event(client, world)
    url = f"/v3/events/{made['id']}"
    before = footprint(db)

    def patch(payload: dict[str, Any], who: str = "member") -> Any:
        return client.patch(url, json=payload, headers=world.auth(who))

    for payload, field in (
        ({"title": " "}, "title"),
        ({"title": None}, "title"),
        ({"start_date": "2030-05-02T00:00:00Z"}, "end_date"),
        ({"end_date": "2030-05-01T00:00:00Z"}, "end_date"),
        ({"campaign_id": "x"}, "campaign_id"),
    ):
        r = patch(payload)
        assert r.status_code == 422, payload
        assert field in r.json()["errors"], r.json()
    assert patch({"title": "New"}, "viewer").json() == FORBIDDEN
    assert client.patch(url, json={"title": "New"}).status_code == 401
    r = client.patch("/v3/events/" + "0" * 32, json={"title": "x"}, headers=world.auth())
    assert r.status_code == 404
    other = build_world(db, org_name="Other", prefix="o-")
    assert client.patch(url, json={"title": "x"}, headers=other.auth()).status_code == 404
    assert client.get(url, headers=other.auth()).status_code == 404
    assert footprint(db) == before
    assert client.get(url, headers=world.auth()).json() == made
