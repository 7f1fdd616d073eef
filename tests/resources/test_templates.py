"""Templates: listTemplates, getTemplate, and their Settings import/export (templates and
routing rules round-trip through getSettings/updateSettings)."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.resources.templates.tables import RoutingRule, Template
from tests.support.mixins import ResourceTests
from tests.support.work_requests import TEMPLATE, import_template, settings_document
from tests.support.world import World, build_world

API = "https://testserver/v3"
RULE = {
    "name": "To design",
    "description": "Design work",
    "template_name": "Campaign request",
    "watchers": ["lead@example.com"],
    "rules": [
        {
            "field_type": "customField",
            "identifier": "Channel",
            "operator": "equal",
            "value": ["Web"],
            "unit": None,
            "custom_field_type": "dropdown",
        }
    ],
}


class TestTemplates(ResourceTests):
    list_path = "/v3/templates"
    item_path = "/v3/templates/{id}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [
            import_template(self.client, world, name=f"Template {i:02d}")["id"] for i in range(n)
        ]


def test_get_template_shows_form_fields(client, world: World) -> None:
    t = import_template(client, world)
    assert t["title"] == "Campaign request" and t["is_active"] is True
    assert t["applicable_to"] == ["work_request", "campaign_brief"]
    assert t["links"] == {"self": f"{API}/templates/{t['id']}"}
    by_id = {f["identifier"]: f for f in t["form_fields"]}
    assert [f["identifier"] for f in t["form_fields"]] == [
        "title",
        "s1",
        "brief",
        "Channel",
        "Budget",
        "due_date",
        "creative_assets",
        "Regions",
        "i1",
    ]
    assert by_id["title"]["type"] == "text" and by_id["title"]["is_required"] is True
    assert by_id["s1"] == {
        "identifier": "s1",
        "type": "section",
        "label": "Details",
        "helper_text": "About s1",
        "is_required": False,
        "is_readonly": True,
        "sort_order": 1,
        "type_specific_meta": None,
        "logic_rules": [],
    }
    assert by_id["i1"]["type_specific_meta"] == {"description": "Be precise"}
    channel = by_id["Channel"]
    assert channel["type"] == "dropdown"
    assert [c["name"] for c in channel["type_specific_meta"]["choices"]] == ["Web", "Email"]
    assert channel["logic_rules"][0]["condition"] == {"operator": "any_of", "values": ["Web"]}
    assert by_id["Budget"]["type_specific_meta"] == {
        "decimal_places": 2,
        "currency_code": "EUR",
        "has_thousand_separator": True,
    }
    assert by_id["due_date"]["type"] == "date" and by_id["creative_assets"]["type"] == "file"
    assert by_id["Regions"]["type_specific_meta"]["is_multi_select"] is True


def test_filters(client, db: Session, world: World) -> None:
    a = import_template(client, world, name="Kangaroo brief", types=["task_brief"])
    b = import_template(client, world, name="Wallaby request", types=["work_request"])
    inactive = db.get(Template, b["id"])
    assert inactive is not None
    inactive.is_active = False
    db.commit()

    def titles(**params: Any) -> list[str]:
        r = client.get("/v3/templates", params=params, headers=world.auth("viewer"))
        assert r.status_code == 200, r.text
        return [t["title"] for t in r.json()["data"]]

    assert titles() == ["Kangaroo brief"]
    assert titles(include_inactive="true") == ["Kangaroo brief", "Wallaby request"]
    assert titles(search="KANGA") == ["Kangaroo brief"]
    assert titles(applicable_to="work_request", include_inactive="true") == ["Wallaby request"]
    assert titles(applicable_to="campaign_brief") == []
    assert client.get(f"/v3/templates/{b['id']}", headers=world.auth()).status_code == 200
    assert a["id"] != b["id"]
    r = client.get("/v3/templates", params={"applicable_to": "nope"}, headers=world.auth())
    assert r.status_code == 400 and "applicable_to" in r.json()["errors"]


def test_import_updates_same_name_and_dry_run_writes_nothing(
    client, db: Session, world: World
) -> None:
    first = import_template(client, world)
    doc = settings_document({**copy.deepcopy(TEMPLATE), "description": "Changed"})
    r = client.post("/v3/settings", json=doc, headers=world.auth())  # dry run
    assert r.status_code == 200 and r.json()["changeset"]["update"]["templates"] == [
        "Campaign request"
    ]
    assert (
        client.get(f"/v3/templates/{first['id']}", headers=world.auth()).json()["description"]
        == "Ask for a campaign"
    )
    r = client.post("/v3/settings", json=doc, params={"execute": "true"}, headers=world.auth())
    assert r.status_code == 200, r.text
    assert [t.description for t in db.scalars(select(Template))] == ["Changed"]


def test_settings_round_trip_into_another_organization(client, db: Session, world: World) -> None:
    import_template(client, world)
    doc = settings_document()
    doc["routing_rules"] = [RULE]
    r = client.post("/v3/settings", json=doc, params={"execute": "true"}, headers=world.auth())
    assert r.status_code == 200, r.text
    exported = client.get("/v3/settings", headers=world.auth()).json()["resources"]
    assert exported["templates"] == [TEMPLATE] and exported["routing_rules"] == [RULE]
    other = build_world(db, org_name="Beta", prefix="beta-")
    r = client.post("/v3/settings", json=exported, params={"execute": "true"}, headers=other.auth())
    assert r.status_code == 200, r.text
    assert r.json()["changeset"]["create"]["templates"] == ["Campaign request"]
    again = client.get("/v3/settings", headers=other.auth()).json()["resources"]
    assert again["templates"] == exported["templates"]
    assert again["routing_rules"] == exported["routing_rules"]
    # choices come from the other organization's own custom fields
    (theirs,) = client.get("/v3/templates", headers=other.auth()).json()["data"]
    assert theirs["id"] not in [
        t.id for t in db.scalars(select(Template).where(Template.org_id == world.org.id))
    ]


def test_refused_imports_write_nothing(client, db: Session, world: World) -> None:
    bad_type = copy.deepcopy(TEMPLATE)
    bad_type["form_fields"][2]["field_type"] = "hologram"
    r = client.post(
        "/v3/settings",
        json=settings_document(bad_type),
        params={"execute": "true"},
        headers=world.auth(),
    )
    assert r.status_code == 422 and "templates.0.form_fields.2.field_type" in r.json()["errors"]
    bad_area = {**copy.deepcopy(TEMPLATE), "types": ["newsletter"]}
    r = client.post(
        "/v3/settings",
        json=settings_document(bad_area),
        params={"execute": "true"},
        headers=world.auth(),
    )
    assert r.status_code == 422 and "templates.0.types" in r.json()["errors"]
    doc = settings_document()
    doc["routing_rules"] = [RULE]
    r = client.post("/v3/settings", json=doc, params={"execute": "true"}, headers=world.auth())
    assert r.status_code == 422 and "routing_rules.0.template_name" in r.json()["errors"]
    assert db.scalars(select(Template)).all() == [] and db.scalars(select(RoutingRule)).all() == []
    r = client.post(
        "/v3/settings",
        json=settings_document(TEMPLATE),
        params={"execute": "true"},
        headers=world.auth("member"),
    )
    assert r.status_code == 403


def test_viewer_reads_other_org_gets_404(client, db: Session, world: World) -> None:
    t = import_template(client, world)
    assert client.get(f"/v3/templates/{t['id']}", headers=world.auth("viewer")).status_code == 200
    other = build_world(db, org_name="Beta", prefix="beta-")
    assert client.get(f"/v3/templates/{t['id']}", headers=other.auth()).status_code == 404
    assert client.get("/v3/templates", headers=other.auth()).json()["data"] == []
