"""Fields: listFields, createField, updateField, createFieldChoices, updateFieldChoice,
deleteFieldChoice. Every response is checked against the spec by the ``client`` fixture."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.resources.fields import service, values
from cmpapi.server.resources.fields.tables import Field
from cmpapi.wire import SettingsFieldCreateRequest
from tests.support.mixins import ResourceTests
from tests.support.world import World, build_world

HEX32 = re.compile(r"[0-9a-f]{32}")
CHOICES = [{"name": "One"}, {"name": "Two"}]
LABEL_CHOICES = [{"name": "Red", "color": "#FF98A7"}, {"name": "Blue", "color": "#5f9ff6"}]
# A minimal valid createField body for every type the spec lists.
BODIES: dict[str, dict[str, Any]] = {
    "text": {},
    "text_area": {},
    "rich_text": {},
    "date": {},
    "image": {},
    "video": {},
    "checkbox": {"choices": CHOICES},
    "radio_button": {"choices": CHOICES},
    "dropdown": {"choices": CHOICES, "is_multi_select": False},
    "label": {"choices": LABEL_CHOICES, "is_multi_select": True},
    "simple_number": {},
    "percentage_number": {"decimal_places": 1},
    "currency_number": {"currency_code": "eur", "has_thousand_separator": True},
}


def body(type_: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name or f"F {type_}",
        "type": type_,
        "is_active": True,
        **BODIES[type_],
        **extra,
    }


def make_field(
    db: Session, org_id: str, type_: str, name: str | None = None, **extra: Any
) -> Field:
    payload = SettingsFieldCreateRequest.model_validate(body(type_, name, **extra)).root
    field = service.add_field(db, org_id, payload)
    db.commit()
    return field


def listed(client: Any, world: World, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v3/fields", params={"page_size": 100, **params}, headers=world.auth())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def one(client: Any, world: World, field_id: str) -> dict[str, Any]:
    (item,) = listed(client, world, ids=field_id)
    return item


class TestFields(ResourceTests):
    list_path = "/v3/fields"
    item_path = "/v3/fields?ids={id}"
    # listFields has no single-item operation: the mixin's get tests do not apply.
    test_get_own_item = None
    test_get_unknown_is_404 = None
    test_get_without_token_is_401 = None
    test_other_organization_is_invisible = None

    # Every type the spec lists; the field then shows what was sent (label colors shown
    # upper case, currency codes too).
    create_path = "/v3/fields"
    create_data = [
        body(type_, helper_text="Help")
        for type_ in sorted(BODIES)
        if type_ not in ("label", "currency_number")
    ] + [
        (
            body("label"),
            {
                **body("label"),
                "choices": [LABEL_CHOICES[0], {"name": "Blue", "color": "#5F9FF6"}],
            },
        ),
        (body("currency_number"), {**body("currency_number"), "currency_code": "EUR"}),
    ]
    invalid_create = [
        ({**body("text"), "choices": CHOICES}, "choices", 422),
        ({**body("dropdown"), "choices": []}, "choices", 422),
        ({**body("text"), "type": "hologram"}, "body", 422),
        ({"type": "text", "is_active": True}, "name", 422),
        ({**body("text"), "helper_text": "x" * 121}, "helper_text", 422),
        ({**body("simple_number"), "decimal_places": 0}, "decimal_places", 422),
        ({**body("currency_number"), "currency_code": "XYZ"}, "currency_code", 422),
        ({**body("text"), "name": "  "}, "name", 422),
        ({**body("label"), "choices": [{"name": "A"}]}, "choices.0.color", 422),
        ({**body("label"), "choices": [{"name": "A", "color": "#000000"}]}, "choices.0.color", 422),
        (
            {**body("radio_button"), "choices": [{"name": "A"}, {"name": "a"}]},
            "choices.1.name",
            422,
        ),
        (body("date", "taken"), "name", 422),  # names are unique case-insensitively
    ]
    update_path = "/v3/fields/{id}"
    update_data = [
        {"type": "text", "name": "Score"},
        {"type": "text", "is_active": False, "helper_text": "Out of 10"},
    ]
    invalid_update = [
        ({"type": "date", "name": "X"}, "type", 422),
        ({"type": "text"}, "body", 422),
        ({"type": "text", "decimal_places": 2}, "decimal_places", 422),
        ({"type": "text", "name": "Taken"}, "name", 422),
        ({"name": "X"}, "body", 422),
    ]
    writer = "admin"
    forbidden = ("member", "viewer")

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [make_field(db, world.org.id, "text", f"Field {i:02d}").id for i in range(n)]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        make_field(db, world.org.id, "text", "Taken")
        return {}

    def fetch(self, world: World, item_id: str) -> dict[str, Any] | None:
        found = listed(self.client, world, ids=item_id)
        return found[0] if found else None


def test_created_fields_have_ids_and_links(client, world: World) -> None:
    r = client.post("/v3/fields", json=body("dropdown"), headers=world.auth())
    assert r.status_code == 201, r.text
    (field_id,) = r.json().values()
    assert HEX32.fullmatch(field_id)
    item = one(client, world, field_id)
    assert item["links"] == {"source": f"https://testserver/v3/fields?ids={field_id}"}
    assert all(HEX32.fullmatch(c["id"]) for c in item["choices"])


def test_type_options_and_their_defaults(client, db: Session, world: World) -> None:
    simple = make_field(db, world.org.id, "simple_number")
    currency = make_field(db, world.org.id, "currency_number")
    label = make_field(db, world.org.id, "label")
    item = one(client, world, simple.id)
    assert (item["decimal_places"], item["has_thousand_separator"], item["helper_text"]) == (
        2,
        False,
        "",
    )
    assert one(client, world, currency.id)["currency_code"] == "EUR"
    assert [c["color"] for c in one(client, world, label.id)["choices"]] == ["#FF98A7", "#5F9FF6"]


def test_list_filters_by_repeated_ids_and_orders_by_name(client, db: Session, world: World) -> None:
    _, a, c = (make_field(db, world.org.id, "text", n) for n in ("Bravo", "Alpha", "Charlie"))
    assert [f["name"] for f in listed(client, world)] == ["Alpha", "Bravo", "Charlie"]
    r = client.get(f"/v3/fields?ids={a.id}&ids={c.id}&ids=unknown", headers=world.auth())
    assert [f["id"] for f in r.json()["data"]] == [a.id, c.id]
    assert listed(client, world, ids="0" * 32) == []


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_every_role_reads_only_admins_write(client, db: Session, world: World, role: str) -> None:
    field = make_field(db, world.org.id, "dropdown")
    choice = field.choices[0].id
    assert client.get("/v3/fields", headers=world.auth(role)).status_code == 200
    writes = [
        client.post("/v3/fields", json=body("text"), headers=world.auth(role)),
        client.patch(
            f"/v3/fields/{field.id}",
            json={"type": "dropdown", "name": "X"},
            headers=world.auth(role),
        ),
        client.post(
            f"/v3/fields/{field.id}/choices", json=[{"name": "Three"}], headers=world.auth(role)
        ),
        client.patch(
            f"/v3/fields/{field.id}/choices/{choice}",
            json={"name": "Uno"},
            headers=world.auth(role),
        ),
        client.delete(f"/v3/fields/{field.id}/choices/{choice}", headers=world.auth(role)),
    ]
    assert [w.status_code for w in writes] == [403] * 5
    assert writes[0].json() == {
        "message": "You do not have the permission to perform this operation"
    }


def test_writes_without_token_are_401(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "radio_button")
    assert client.post("/v3/fields", json=body("text")).status_code == 401
    assert client.patch(f"/v3/fields/{field.id}", json={"type": "radio_button"}).status_code == 401
    assert client.delete(f"/v3/fields/{field.id}/choices/x").status_code == 401


def test_names_are_unique_per_organization_case_insensitively(
    client, db: Session, world: World
) -> None:
    make_field(db, world.org.id, "text", "Region")
    r = client.post("/v3/fields", json=body("date", "region"), headers=world.auth())
    assert r.status_code == 422
    assert r.json()["errors"] == {"name": "Already in use"}
    other = build_world(db, org_name="Other", prefix="other-")
    r = client.post("/v3/fields", json=body("date", "Region"), headers=other.auth())
    assert r.status_code == 201


def test_update_changes_only_what_is_given(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "simple_number", decimal_places=3)
    r = client.patch(
        f"/v3/fields/{field.id}",
        json={"type": "simple_number", "name": "Score"},
        headers=world.auth(),
    )
    assert r.status_code == 204 and r.content == b""
    item = one(client, world, field.id)
    # The spec's defaults (decimal_places 2) are not applied to a partial update.
    assert (item["name"], item["decimal_places"], item["has_thousand_separator"]) == (
        "Score",
        3,
        False,
    )
    changes = {
        "type": "simple_number",
        "is_active": False,
        "helper_text": "Out of 10",
        "has_thousand_separator": True,
    }
    assert (
        client.patch(f"/v3/fields/{field.id}", json=changes, headers=world.auth()).status_code
        == 204
    )
    item = one(client, world, field.id)
    assert (item["is_active"], item["helper_text"], item["has_thousand_separator"]) == (
        False,
        "Out of 10",
        True,
    )


def test_update_type_specific_options(client, db: Session, world: World) -> None:
    dropdown = make_field(db, world.org.id, "dropdown")
    currency = make_field(db, world.org.id, "currency_number")
    patch = {"type": "dropdown", "is_multi_select": True}
    assert (
        client.patch(f"/v3/fields/{dropdown.id}", json=patch, headers=world.auth()).status_code
        == 204
    )
    assert one(client, world, dropdown.id)["is_multi_select"] is True
    patch = {"type": "currency_number", "currency_code": "gbp", "decimal_places": 0}
    r = client.patch(f"/v3/fields/{currency.id}", json=patch, headers=world.auth())
    assert r.status_code == 422 and "decimal_places" in r.json()["errors"]
    patch = {"type": "currency_number", "currency_code": "gbp"}
    assert (
        client.patch(f"/v3/fields/{currency.id}", json=patch, headers=world.auth()).status_code
        == 204
    )
    assert one(client, world, currency.id)["currency_code"] == "GBP"


def test_other_organizations_fields_are_invisible(client, db: Session, world: World) -> None:
    other = build_world(db, org_name="Other", prefix="other-")
    theirs = make_field(db, other.org.id, "checkbox")
    assert listed(client, world) == []
    assert listed(client, world, ids=theirs.id) == []
    choice = theirs.choices[0].id
    for r in (
        client.patch(
            f"/v3/fields/{theirs.id}",
            json={"type": "checkbox", "name": "Mine"},
            headers=world.auth(),
        ),
        client.post(f"/v3/fields/{theirs.id}/choices", json=CHOICES[:1], headers=world.auth()),
        client.patch(
            f"/v3/fields/{theirs.id}/choices/{choice}", json={"name": "X"}, headers=world.auth()
        ),
        client.delete(f"/v3/fields/{theirs.id}/choices/{choice}", headers=world.auth()),
    ):
        assert r.status_code == 404
        assert r.json() == {"message": "Resource not found"}


def test_create_choices_answers_with_all_choices(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "checkbox")
    r = client.post(
        f"/v3/fields/{field.id}/choices",
        json=[{"name": "Three"}, {"name": "Four"}],
        headers=world.auth(),
    )
    assert r.status_code == 201, r.text
    assert [c["name"] for c in r.json()] == ["One", "Two", "Three", "Four"]
    assert [c["id"] for c in one(client, world, field.id)["choices"]] == [c["id"] for c in r.json()]


@pytest.mark.parametrize(
    ("type_", "payload", "key"),
    [
        ("text", [{"name": "A"}], "id"),
        ("checkbox", [{"name": "one"}], "0.name"),
        ("checkbox", [{"name": "A"}, {"name": "A"}], "1.name"),
        ("checkbox", [{"name": "A", "color": "#FFC700"}], "0.color"),
        ("label", [{"name": "A"}], "0.color"),
        ("label", [{"name": "A", "color": "red"}], "0.color"),
        ("checkbox", [], "body"),
        ("checkbox", {"name": "A"}, "body"),
    ],
)
def test_create_choices_rejects(
    client, db: Session, world: World, type_: str, payload: Any, key: str
) -> None:
    field = make_field(db, world.org.id, type_)
    r = client.post(f"/v3/fields/{field.id}/choices", json=payload, headers=world.auth())
    assert r.status_code == 422, r.text
    assert key in r.json()["errors"], r.json()


def test_label_choices_get_colors(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "label")
    r = client.post(
        f"/v3/fields/{field.id}/choices",
        json=[{"name": "Gold", "color": "#ffc700"}],
        headers=world.auth(),
    )
    assert r.status_code == 201
    gold = one(client, world, field.id)["choices"][-1]
    assert (gold["name"], gold["color"]) == ("Gold", "#FFC700")
    r = client.patch(
        f"/v3/fields/{field.id}/choices/{gold['id']}",
        json={"color": "#9694B3"},
        headers=world.auth(),
    )
    assert r.status_code == 204
    assert one(client, world, field.id)["choices"][-1]["color"] == "#9694B3"


def test_update_choice(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "radio_button")
    first, second = (c.id for c in field.choices)
    url = f"/v3/fields/{field.id}/choices/{first}"
    assert client.patch(url, json={"name": "Uno"}, headers=world.auth()).status_code == 204
    assert [c["name"] for c in one(client, world, field.id)["choices"]] == ["Uno", "Two"]
    for payload, key in (({"name": "two"}, "name"), ({"color": "#FFC700"}, "color"), ({}, "body")):
        r = client.patch(url, json=payload, headers=world.auth())
        assert r.status_code == 422 and key in r.json()["errors"], r.text
    r = client.patch(url, json={"name": "X", "bogus": 1}, headers=world.auth())
    assert r.status_code == 422
    other = make_field(db, world.org.id, "radio_button", "Other")
    r = client.patch(
        f"/v3/fields/{other.id}/choices/{second}", json={"name": "X"}, headers=world.auth()
    )
    assert r.status_code == 404


def test_delete_choice_removes_it_from_stored_values(client, db: Session, world: World) -> None:
    field = make_field(db, world.org.id, "checkbox")
    first, second = (c.id for c in field.choices)
    inputs = [values.ValueInput(field.id, "checkbox", [first, second])]
    checked = values.validate_field_values(db, world.org.id, inputs)
    values.replace_field_values(db, world.org.id, "asset", "a1", checked)
    db.commit()
    r = client.delete(f"/v3/fields/{field.id}/choices/{first}", headers=world.auth())
    assert r.status_code == 204 and r.content == b""
    assert [c["id"] for c in one(client, world, field.id)["choices"]] == [second]
    db.expire_all()
    (stored,) = values.owner_field_values(db, world.org.id, "asset", "a1")
    assert stored.values == [second]
    r = client.delete(f"/v3/fields/{field.id}/choices/{first}", headers=world.auth())
    assert r.status_code == 404
    r = client.delete(f"/v3/fields/{field.id}/choices/{second}", headers=world.auth())
    assert r.status_code == 422  # the last choice stays
