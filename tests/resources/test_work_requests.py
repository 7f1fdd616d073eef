"""Work requests: listWorkRequests, createWorkRequest, getWorkRequest, updateWorkRequest,
updateWorkRequestFormField, the creative assets, approved assets and related resources."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.work_requests import service
from cmpapi.server.resources.work_requests.tables import WorkRequest, WorkRequestFile
from tests.support.mixins import ResourceTests
from tests.support.tasks import create_task
from tests.support.uploads import jpeg, upload
from tests.support.work_requests import choice, create_work_request, import_template
from tests.support.world import World, build_world

API = "https://testserver/v3"


@pytest.fixture
def template(client, world: World) -> dict[str, Any]:
    return import_template(client, world)


def made(client: Any, world: World, template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = create_work_request(client, world, template, **extra)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(WorkRequest)) or 0,
        db.scalar(select(func.count()).select_from(WorkRequestFile)) or 0,
        db.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
    )


TITLE = [{"identifier": "title", "type": "text", "values": ["Spring"]}]


class TestWorkRequests(ResourceTests):
    list_path = "/v3/work-requests"
    item_path = "/v3/work-requests/{id}"
    create_path = "/v3/work-requests"
    create_data = [
        ({"template_id": "{template}", "form_fields": TITLE}, {"status": "Submitted"}),
        (
            {"template_id": "{template}", "form_fields": TITLE, "assignees": ["{member}"]},
            {"priority": "Medium"},
        ),
    ]
    invalid_create = [
        ({"template_id": "{template}", "form_fields": []}, "form_fields"),
        (
            {
                "template_id": "{template}",
                "form_fields": [{"identifier": "Budget", "type": "currency_number", "values": [5]}],
            },
            "form_fields.title",
        ),
        ({"template_id": "0" * 32, "form_fields": TITLE}, "template_id"),
        (
            {"template_id": "{template}", "form_fields": TITLE, "assignees": ["0" * 32]},
            "assignees.0",
        ),
    ]
    update_path = "/v3/work-requests/{id}"
    update_data = [{"priority": "High"}, {"status": "Accepted"}]
    invalid_update = [({"status": "Completed"}, "status"), ({"priority": "Urgent"}, "priority")]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        return {"template": import_template(self.client, world)["id"]}

    def make(self, db: Session, world: World, n: int) -> list[str]:
        template = import_template(self.client, world)
        return [made(self.client, world, template)["id"] for _ in range(n)]


def test_create_and_get(client, world: World, template: dict[str, Any]) -> None:
    key = upload(client, world, jpeg(), "hero.jpg")
    body_extra = {"assignees": [world.users["member"].id, world.team.id]}
    r = create_work_request(client, world, template, **body_extra)
    assert r.status_code == 201, r.text
    wr = r.json()
    wid = wr["id"]
    assert wr["reference_id"] == "WRQ-1" and wr["status"] == "Submitted"
    assert wr["priority"] == "Medium"
    assert wr["template"] == {
        "id": template["id"],
        "title": "Campaign request",
        "links": {"self": f"{API}/templates/{template['id']}"},
    }
    assert wr["created_by"] == {
        "id": world.users["member"].id,
        "links": {"self": f"{API}/users/{world.users['member'].id}"},
    }
    assert [(a["type"], a["id"]) for a in wr["assignees"]] == [
        ("user", world.users["member"].id),
        ("team", world.team.id),
    ]
    fields = {f["identifier"]: f for f in wr["form_fields"]}
    assert set(fields) == {
        "title",
        "brief",
        "Channel",
        "Budget",
        "due_date",
        "creative_assets",
        "Regions",
    }
    assert fields["title"]["values"] == ["Spring launch"]
    assert fields["Channel"]["values"] == [
        {"id": choice(template, "Channel", "Web"), "name": "Web"}
    ]
    assert fields["Budget"]["values"] == ["1500.5"] and fields["due_date"]["values"] == []
    assert wr["links"]["creative_assets"] == f"{API}/work-requests/{wid}/creative-assets"
    assert client.get(f"/v3/work-requests/{wid}", headers=world.auth("viewer")).json() == wr
    # a file field, a brief and a date
    r = create_work_request(
        client,
        world,
        template,
        form_fields=[
            {"identifier": "title", "type": "text", "values": ["Two"]},
            {
                "identifier": "brief",
                "type": "brief",
                "values": [
                    {"type": "attachment_brief", "value": {"key": key, "name": "brief.jpg"}}
                ],
            },
            {
                "identifier": "creative_assets",
                "type": "file",
                "values": [{"key": key, "name": "hero.jpg"}],
            },
            {"identifier": "due_date", "type": "date", "values": ["2030-02-20T12:02:03+01:00"]},
        ],
    )
    assert r.status_code == 201, r.text
    fields = {f["identifier"]: f for f in r.json()["form_fields"]}
    (brief,) = fields["brief"]["values"]
    assert brief["type"] == "attachment_brief" and brief["value"]["name"] == "brief.jpg"
    (asset,) = fields["creative_assets"]["values"]
    assert asset["name"] == "hero.jpg" and client.get(asset["url"]).content == jpeg()
    assert fields["due_date"]["values"] == ["2030-02-20T11:02:03Z"]
    assert r.json()["reference_id"] == "WRQ-2"


@pytest.mark.parametrize(
    ("form_field", "named"),
    [
        ({"identifier": "nope", "type": "text", "values": ["x"]}, "form_fields.3.identifier"),
        ({"identifier": "Budget", "type": "simple_number", "values": [1]}, "form_fields.3.type"),
        (
            {"identifier": "Channel", "type": "dropdown", "values": ["not-a-choice"]},
            "form_fields.3.values.0",
        ),
        ({"identifier": "due_date", "type": "date", "values": ["soon"]}, "form_fields.3.values.0"),
        (
            {
                "identifier": "creative_assets",
                "type": "file",
                "values": [{"key": "0" * 32, "name": "x"}],
            },
            "form_fields.3.values.0.key",
        ),
    ],
)
def test_invalid_form_fields_are_named(
    client,
    db: Session,
    world: World,
    template: dict[str, Any],
    form_field: dict[str, Any],
    named: str,
) -> None:
    before = counts(db)
    body = {
        "template_id": template["id"],
        "form_fields": [
            {"identifier": "title", "type": "text", "values": ["T"]},
            {"identifier": "Regions", "type": "checkbox", "values": []},
            {
                "identifier": "brief",
                "type": "brief",
                "values": [{"type": "text_brief", "value": "Make it pop"}],
            },
            form_field,
        ],
    }
    r = client.post("/v3/work-requests", json=body, headers=world.auth("member"))
    assert r.status_code == 422, r.text
    assert named in r.json()["errors"], r.json()
    assert counts(db) == before


def test_required_template_and_assignees(
    client, db: Session, world: World, template: dict[str, Any]
) -> None:
    before = counts(db)
    body = {
        "template_id": template["id"],
        "form_fields": [{"identifier": "Budget", "type": "currency_number", "values": [1]}],
    }
    r = client.post("/v3/work-requests", json=body, headers=world.auth("member"))
    assert r.status_code == 422 and "form_fields.title" in r.json()["errors"]
    r = create_work_request(client, world, {**template, "id": "unknown"})
    assert r.status_code == 422 and "template_id" in r.json()["errors"]
    r = create_work_request(client, world, template, assignees=["nobody"])
    assert r.status_code == 422 and "assignees.0" in r.json()["errors"]
    r = create_work_request(client, world, template, who="viewer")
    assert r.status_code == 403
    other = build_world(db, org_name="Beta", prefix="beta-")
    r = create_work_request(client, other, template)
    assert r.status_code == 422 and "template_id" in r.json()["errors"]
    assert counts(db) == before


def test_update_status_priority_assignees(
    client, db: Session, world: World, template: dict[str, Any]
) -> None:
    wr = made(client, world, template)
    url = f"/v3/work-requests/{wr['id']}"

    def patch(who: str = "member", **body: Any) -> Any:
        return client.patch(url, json=body, headers=world.auth(who))

    assert patch(status="Completed").status_code == 422  # Submitted -> Completed is not a step
    assert patch("viewer", status="Accepted").status_code == 403
    assert (
        patch(status="Accepted", priority="High", assignees=[world.users["admin"].id]).status_code
        == 204
    )
    got = client.get(url, headers=world.auth()).json()
    assert (got["status"], got["priority"]) == ("Accepted", "High")
    assert [a["id"] for a in got["assignees"]] == [world.users["admin"].id]
    assert patch(status="Completed").status_code == 204
    r = patch(status="Submitted")
    assert r.status_code == 422 and "status" in r.json()["errors"]
    assert patch(assignees=[]).status_code == 204
    assert client.get(url, headers=world.auth()).json()["assignees"] == []
    assert patch(assignees=["nobody"]).status_code == 422
    other = build_world(db, org_name="Beta", prefix="beta-")
    assert client.patch(url, json={"priority": "Low"}, headers=other.auth()).status_code == 404
    assert client.get(url, headers=other.auth()).status_code == 404


def test_filters_and_order(client, db: Session, world: World, template: dict[str, Any]) -> None:
    first = made(client, world, template)
    second = made(client, world, template, who="admin")
    client.patch(
        f"/v3/work-requests/{second['id']}",
        json={"status": "Declined", "priority": "High"},
        headers=world.auth(),
    )

    def ids(**params: Any) -> list[str]:
        r = client.get("/v3/work-requests", params=params, headers=world.auth("viewer"))
        assert r.status_code == 200, r.text
        return [w["id"] for w in r.json()["data"]]

    assert ids() == [second["id"], first["id"]]
    assert ids(order_by="created_at", order_as="asc") == [first["id"], second["id"]]
    assert ids(status=["Submitted", "Accepted"]) == [first["id"]]
    assert ids(created_by=[world.users["admin"].id]) == [second["id"]]
    assert ids(created_by=[world.users["admin"].id, world.users["member"].id]) == [
        second["id"],
        first["id"],
    ]
    assert ids(template_ids=[template["id"]]) == [second["id"], first["id"]]
    assert ids(template_ids=["other"]) == []
    assert ids(order_by="priority", order_as="asc") == [first["id"], second["id"]]
    assert ids(order_by="due_date") == [second["id"], first["id"]]
    assert ids(created_at__from="2999-01-01T00:00:00Z") == []
    assert ids(created_at__to="2999-01-01T00:00:00Z") == [second["id"], first["id"]]


def test_update_form_field(client, db: Session, world: World, template: dict[str, Any]) -> None:
    wr = made(client, world, template)
    url = f"/v3/work-requests/{wr['id']}/form-fields"
    emea = choice(template, "Regions", "EMEA")
    r = client.put(
        f"{url}/Regions", json={"type": "checkbox", "values": [emea]}, headers=world.auth("member")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "checkbox", "values": [{"id": emea, "name": "EMEA"}]}
    r = client.put(
        f"{url}/Budget",
        json={"type": "currency_number", "values": ["12.50"]},
        headers=world.auth("member"),
    )
    assert r.status_code == 200 and r.json()["values"] == ["12.50"]
    key = upload(client, world, b"%PDF-1.4 brief", "brief.pdf")
    r = client.put(
        f"{url}/creative_assets",
        json={"type": "file", "values": [{"key": key, "name": "brief.pdf"}]},
        headers=world.auth("member"),
    )
    assert r.status_code == 200, r.text
    (value,) = r.json()["values"]
    assert value["name"] == "brief.pdf" and client.get(value["url"]).content == b"%PDF-1.4 brief"
    # A file the field no longer holds is deleted from storage once the change commits.
    key = upload(client, world, b"%PDF-1.4 v2", "brief2.pdf")
    r = client.put(
        f"{url}/creative_assets",
        json={"type": "file", "values": [{"key": key, "name": "brief2.pdf"}]},
        headers=world.auth("member"),
    )
    assert r.status_code == 200, r.text
    assert client.get(r.json()["values"][0]["url"]).content == b"%PDF-1.4 v2"
    assert client.get(value["url"]).status_code == 404
    before = counts(db)
    for path, body, status, named in [
        ("title", {"type": "text", "values": []}, 422, "values"),
        ("Budget", {"type": "text", "values": ["x"]}, 422, "type"),
        ("Budget", {"type": "currency_number", "values": ["lots"]}, 422, "values.0"),
        ("due_date", {"type": "date", "values": ["2030-13-01"]}, 422, "values.0"),
        ("s1", {"type": "text", "values": ["x"]}, 404, None),
        ("nope", {"type": "text", "values": ["x"]}, 404, None),
    ]:
        r = client.put(f"{url}/{path}", json=body, headers=world.auth("member"))
        assert r.status_code == status, (path, r.text)
        if named:
            assert named in r.json()["errors"], r.json()
    r = client.put(
        f"{url}/title", json={"type": "text", "values": ["x"]}, headers=world.auth("viewer")
    )
    assert r.status_code == 403
    assert counts(db) == before
    got = client.get(f"/v3/work-requests/{wr['id']}", headers=world.auth()).json()
    fields = {f["identifier"]: f["values"] for f in got["form_fields"]}
    assert fields["Budget"] == ["12.50"] and fields["title"] == ["Spring launch"]


def test_creative_assets(client, db: Session, world: World, template: dict[str, Any]) -> None:
    wr = made(client, world, template)
    url = f"/v3/work-requests/{wr['id']}/creative-assets"
    key = upload(client, world, jpeg(), "hero.jpg")
    r = client.post(url, json={"key": key, "name": "Hero"}, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    asset = r.json()
    assert asset["name"] == "Hero" and client.get(asset["url"]).content == jpeg()
    before = counts(db)
    r = client.post(url, json={"key": "0" * 32, "name": "Hero"}, headers=world.auth("member"))
    assert r.status_code == 422 and "key" in r.json()["errors"]
    assert (
        client.post(
            url, json={"key": key, "name": "Hero"}, headers=world.auth("viewer")
        ).status_code
        == 403
    )
    assert client.delete(f"{url}/{asset['id']}", headers=world.auth("viewer")).status_code == 403
    assert counts(db) == before
    other = build_world(db, org_name="Beta", prefix="beta-")
    assert client.delete(f"{url}/{asset['id']}", headers=other.auth()).status_code == 404
    assert client.delete(f"{url}/{asset['id']}", headers=world.auth("member")).status_code == 204
    assert client.delete(f"{url}/{asset['id']}", headers=world.auth("member")).status_code == 404
    assert counts(db)[1] == before[1] - 1


def test_related_resources_and_approved_assets(
    client, db: Session, world: World, template: dict[str, Any]
) -> None:
    wr = made(client, world, template)
    base = f"/v3/work-requests/{wr['id']}"
    assert client.get(f"{base}/related-resources", headers=world.auth()).json()["data"] == []
    task = create_task(client, world, None)
    body = {
        "type": "direct_upload",
        "key": upload(client, world, jpeg(), "a.jpg"),
        "title": "Visual",
    }
    assert (
        client.post(f"/v3/tasks/{task['id']}/assets", json=body, headers=world.auth()).status_code
        == 201
    )
    row = db.get(WorkRequest, wr["id"])
    assert row is not None
    service.add_related_resource(db, row, "task", task["id"])
    service.add_related_resource(db, row, "campaign", "c" * 24, "linked")
    db.commit()
    r = client.get(f"{base}/related-resources", headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    assert [
        (x["resource_type"], x["relation_type"], x["links"]["self"]) for x in r.json()["data"]
    ] == [
        ("task", "started", f"{API}/tasks/{task['id']}"),
        ("campaign", "linked", f"{API}/campaigns/{'c' * 24}"),
    ]
    r = client.get(f"{base}/approved-assets", headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    (asset,) = r.json()["data"]
    assert asset["title"] == "Visual" and asset["type"] == "image"
    assert asset["content_type"]["type"] == "url"
    other = build_world(db, org_name="Beta", prefix="beta-")
    assert client.get(f"{base}/approved-assets", headers=other.auth()).status_code == 404
    r = client.get(f"{base}/related-resources", headers=other.auth())
    assert r.status_code == 200 and r.json()["data"] == []  # the spec declares no 404
