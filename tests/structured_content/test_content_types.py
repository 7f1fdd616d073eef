"""Content types and their versions: listSCContentTypes, createSCContentType,
getSCContentType, updateSCContentType, listSCContentTypeVersions,
createSCContentTypeVersion, getSCContentTypeVersion."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.support.mixins import ResourceTests
from tests.support.snapshot import Unchanged
from tests.support.structured_content import TYPES, core, create_type, every_type, text, type_body
from tests.support.world import World

ADMIN_BODY = {"created_by": "{admin}", "details": {"name": "Article", "component": False}}


def _body(**extra: Any) -> dict[str, Any]:
    return {**ADMIN_BODY, "field_definitions": [text(is_required=True)], **extra}


class TestContentTypes(ResourceTests):
    list_path = TYPES
    item_path = TYPES + "/{id}"
    id_key = "content_type_guid"
    paged = False
    error_shape = "fastapi"
    closed_bodies = False
    answers_item = False
    create_status = 201
    writer = "admin"
    forbidden = ("member", "viewer")

    create_path = TYPES
    create_data = [
        (
            {**_body(source="s" * 4000, source_id="i" * 4000), "created_by": "u" * 4000},
            {"created_by": "u" * 4000, "source": "s" * 4000},
        ),
        (
            _body(),
            {"name": "Article", "latest_version": {"field_definitions": [text(is_required=True)]}},
        ),
        (
            {
                **_body(expected_locales=["en_US", "fr_FR"], source="cms", source_id="a-1"),
                "details": {
                    "name": "Hero",
                    "component": True,
                    "description": "A banner",
                    "disabled": True,
                },
            },
            {
                "name": "Hero",
                "component": True,
                "description": "A banner",
                "disabled": True,
                "source": "cms",
                "source_id": "a-1",
                "latest_version": {"expected_locales": ["en_US", "fr_FR"], "latest": True},
            },
        ),
        (
            _body(field_definitions=every_type(["image", "video"], ["{other_type}"])),
            {
                "latest_version": {
                    "field_definitions": every_type(["image", "video"], ["{other_type}"])
                }
            },
        ),
    ]
    invalid_create = [
        (_body(details={"name": " ", "component": False}), "details.name"),
        (_body(field_definitions=[text(), text()]), "field_definitions.1.core.key"),
        (_body(field_definitions=[text("has space")]), "field_definitions.0.core.key"),
        (
            _body(field_definitions=[text(validation_pattern="((")]),
            "field_definitions.0.validation_pattern",
        ),
        (
            _body(field_definitions=[text(min_length=5, max_length=2)]),
            "field_definitions.0.max_length",
        ),
        (
            _body(field_definitions=[{"core": core("c", "choice"), "choices": {}}]),
            "field_definitions.0.choices",
        ),
        (
            _body(
                field_definitions=[{"core": core("n", "number"), "min_value": 3, "max_value": 1}]
            ),
            "field_definitions.0.max_value",
        ),
        (
            _body(field_definitions=[{"core": core("b", "boolean"), "base_type": "json"}]),
            "field_definitions.0.base_type",
        ),
        (
            _body(field_definitions=[{"core": core("r", "rich-text")}]),
            "field_definitions.0.min_visual_text_length",
        ),
        (
            _body(
                field_definitions=[{"core": core("a", "library-asset"), "allowed_types": ["pdf"]}]
            ),
            "field_definitions.0.allowed_types.0",
        ),
        (
            _body(
                field_definitions=[
                    {
                        "core": core("x", "content-type"),
                        "allowed_content_types": ["0" * 32],
                        "ref_type": 1,
                    }
                ]
            ),
            "field_definitions.0.allowed_content_types.0",
        ),
        (
            _body(field_definitions=[{**text(), "max_value": 3}]),
            "field_definitions.0.max_value",
        ),
        (
            _body(field_definitions=[text(is_list=True, min_list_length=3, max_list_length=1)]),
            "field_definitions.0.core.max_list_length",
        ),
        (_body(expected_locales=["en_US", "en_US"]), "expected_locales.1"),
        (_body(expected_locales=["x" * 65]), "expected_locales.0"),
        (_body(details={"name": "x" * 256, "component": False}), "details.name"),
        (
            {"details": {"name": "X", "component": False}, "field_definitions": []},
            "created_by",
            422,
        ),
    ]
    update_path = TYPES + "/{id}"
    update_method = "POST"
    update_data = [
        (
            {"updated_by": "{member}", "details": {"name": "Story", "component": True}},
            {"name": "Story", "component": True, "updated_by": "{member}"},
        ),
        (
            {
                "updated_by": "{admin}",
                "details": {"name": "Story", "component": True, "disabled": True},
                "source_metadata": "{}",
            },
            {"disabled": True, "source_metadata": "{}"},
        ),
    ]
    invalid_update = [
        ({"updated_by": "{admin}", "details": {"name": "", "component": True}}, "details.name"),
        ({"details": {"name": "A", "component": True}}, "updated_by", 422),
    ]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        other = create_type(self.client, world, "Author")
        return {"other_type": other["content_type_guid"]}

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [create_type(self.client, world, f"Type {i}")["content_type_guid"] for i in range(n)]


def test_create_answers_location_and_ids(client: Any, world: World) -> None:
    r = client.post(TYPES, json=type_body(world), headers=world.auth())
    assert r.status_code == 201
    answer = r.json()
    assert answer["created"] is True
    assert r.headers["location"] == f"https://testserver{TYPES}/{answer['content_type_guid']}"
    got = client.get(r.headers["location"], headers=world.auth("viewer")).json()
    assert got["latest_version"]["version_guid"] == answer["content_type_version_guid"]
    assert got["links"]["versions"] == r.headers["location"] + "/versions"


def test_same_source_id_answers_the_existing_type(client: Any, db: Session, world: World) -> None:
    first = create_type(client, world, source="cms", source_id="42")
    unchanged = Unchanged(db)
    r = client.post(
        TYPES, json=type_body(world, "Other", source="cms", source_id="42"), headers=world.auth()
    )
    assert r.status_code == 200
    assert r.json() == {**first, "created": False}
    unchanged.finally_("same source_id")


def test_versions_change_only_with_the_fields(client: Any, db: Session, world: World) -> None:
    made = create_type(client, world)
    tid, v1 = made["content_type_guid"], made["content_type_version_guid"]
    url = f"{TYPES}/{tid}/versions"
    same = {"created_by": world.users["admin"].id, "field_definitions": [text(is_required=True)]}
    unchanged = Unchanged(db)
    r = client.post(url, json=same, headers=world.auth())
    assert (r.status_code, r.json()["created"], r.json()["content_type_version_guid"]) == (
        200,
        False,
        v1,
    )
    unchanged.finally_("same definitions")

    changed = {**same, "field_definitions": [text(is_required=True), text("subtitle")]}
    r = client.post(url, json=changed, headers=world.auth())
    assert r.status_code == 201, r.text
    v2 = r.json()["content_type_version_guid"]
    assert r.headers["location"].endswith(f"/content-types/{tid}")

    versions = client.get(url, headers=world.auth("viewer")).json()
    assert [(v["version_guid"], v["latest"]) for v in versions] == [(v1, False), (v2, True)]
    assert "field_definitions" not in versions[0]
    old = client.get(f"{url}/{v1}", headers=world.auth("viewer")).json()
    assert [d["core"]["key"] for d in old["field_definitions"]] == ["title"]
    assert old["links"]["self"] == f"https://testserver{url}/{v1}"
    latest = client.get(f"{TYPES}/{tid}", headers=world.auth()).json()["latest_version"]
    assert [d["core"]["key"] for d in latest["field_definitions"]] == ["title", "subtitle"]


def test_a_version_may_refer_to_its_own_type(client: Any, world: World) -> None:
    tid = create_type(client, world)["content_type_guid"]
    definition = {
        "core": core("children", "content-type", is_list=True),
        "allowed_content_types": [tid],
        "ref_type": 1,
    }
    body = {"created_by": world.users["admin"].id, "field_definitions": [definition]}
    r = client.post(f"{TYPES}/{tid}/versions", json=body, headers=world.auth())
    assert r.status_code == 201, r.text


def test_version_writes_are_admin_only(client: Any, db: Session, world: World) -> None:
    tid = create_type(client, world)["content_type_guid"]
    body = {"created_by": world.users["member"].id, "field_definitions": [text("other")]}
    unchanged = Unchanged(db)
    r = client.post(f"{TYPES}/{tid}/versions", json=body, headers=world.auth("member"))
    assert r.status_code == 403
    assert r.json() == {"detail": "You do not have the permission to perform this operation"}
    unchanged.finally_("member")


def test_unknown_version_and_type_are_404_detail(client: Any, world: World) -> None:
    tid = create_type(client, world)["content_type_guid"]
    r = client.get(f"{TYPES}/{tid}/versions/{'0' * 32}", headers=world.auth())
    assert (r.status_code, r.json()) == (404, {"detail": "Content type version not found"})
    r = client.get(f"{TYPES}/{'0' * 32}/versions", headers=world.auth())
    assert (r.status_code, r.json()) == (404, {"detail": "Content type not found"})


def test_list_filters(client: Any, world: World) -> None:
    plain = create_type(client, world, "Plain")["content_type_guid"]
    component = create_type(client, world, "Part", details={"component": True})["content_type_guid"]
    off = create_type(client, world, "Off", details={"disabled": True}, source="cms")[
        "content_type_guid"
    ]

    def names(**params: str) -> list[str]:
        r = client.get(TYPES, params=params, headers=world.auth("viewer"))
        assert r.status_code == 200, r.text
        return [t["content_type_guid"] for t in r.json()]

    assert names() == [off, component, plain]  # by name; disabled=true (the default) shows all
    assert names(disabled="false") == [component, plain]
    assert names(list="1") == [component]
    assert names(list="2") == [off, plain]
    assert names(source="cms") == [off]
    r = client.get(TYPES, params={"list": "4"}, headers=world.auth())
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["query", "list"]]


def test_request_validation_errors_are_fastapi_shaped(client: Any, world: World) -> None:
    r = client.post(TYPES, json={"details": {"component": "x"}}, headers=world.auth())
    assert r.status_code == 422
    detail = r.json()["detail"]
    locs = {tuple(e["loc"]) for e in detail}
    assert {
        ("body", "created_by"),
        ("body", "field_definitions"),
        ("body", "details", "name"),
    } <= locs
    assert all(isinstance(e["msg"], str) and isinstance(e["type"], str) for e in detail)
    r = client.post(
        TYPES, content=b"{", headers={**world.auth(), "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_errors_name_each_definition_path(client: Any, world: World) -> None:
    definitions = [
        text("ok"),
        text("bad key"),
        {"core": core("n", "number"), "min_value": 2, "max_value": 1},
    ]
    r = client.post(
        TYPES, json=type_body(world, field_definitions=definitions), headers=world.auth()
    )
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {
        ("body", "field_definitions", "1", "core", "key"),
        ("body", "field_definitions", "2", "max_value"),
    }


def test_other_organizations_types_are_invisible_to_definitions(
    client: Any, db: Session, world: World
) -> None:
    from tests.support.world import build_world

    other = build_world(db, org_name="Other", prefix="other-")
    theirs = create_type(client, other)["content_type_guid"]
    definition = {
        "core": core("x", "content-type"),
        "allowed_content_types": [theirs],
        "ref_type": 1,
    }
    r = client.post(
        TYPES, json=type_body(world, field_definitions=[definition]), headers=world.auth()
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == [
        "body",
        "field_definitions",
        "0",
        "allowed_content_types",
        "0",
    ]
