"""Structured contents in the library: createStructuredContent, getStructuredContent,
updateStructuredContent; their place among the library's assets and their events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from tests.support.mixins import ResourceTests
from tests.support.snapshot import Unchanged
from tests.support.structured_content import core, create_type, every_type, text
from tests.support.world import World

CONTENTS = "/v3/structured-contents"


def values(key: str, *items: dict[str, Any], locale: str = "en_US") -> dict[str, Any]:
    return {key: [{"locale": locale, "field_values": list(items)}]}


def body(type_id: str, title: str = "Spring story", **fields: Any) -> dict[str, Any]:
    content_fields = values("title", {"text_value": title}) | fields
    return {
        "title": title,
        "content_body": {
            "content_type_guid": type_id,
            "root_content": True,
            "fields": content_fields,
        },
    }


def create(
    client: Any, world: World, type_id: str, who: str = "member", **fields: Any
) -> dict[str, Any]:
    r = client.post(CONTENTS, json=body(type_id, **fields), headers=world.auth(who))
    assert r.status_code == 200, r.text
    made: dict[str, Any] = r.json()
    return made


def stored(item: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = item["content_body"]["latest_fields_version"]["fields"]
    return fields


class TestLibraryContents(ResourceTests):
    list_path = "/v3/assets"
    list_query = {"type": "structured_content"}
    item_path = CONTENTS + "/{id}"
    create_path = CONTENTS
    create_data = [
        (
            body("{type}"),
            {
                "title": "Spring story",
                "content_body": {"title": "Spring story", "content_type_guid": "{type}"},
            },
        ),
        (
            {**body("{type}", "In a folder"), "folder_id": "{folder}"},
            {"folder_id": "{folder}", "file_location": "/Stories"},
        ),
        (
            {"content_body": {**body("{type}")["content_body"], "title": "From the body"}},
            {"title": "From the body", "content_body": {"title": "From the body"}},
        ),
    ]
    invalid_create = [
        (
            {"content_body": {"content_type_guid": "{type}", "root_content": True}},
            "content_body.fields.title",
        ),
        (body("{type}", "x" * 81), "content_body.fields.title.0.field_values.0.text_value"),
        (body("0" * 32), "content_body.content_type_guid"),
        (body("{disabled}"), "content_body.content_type_guid"),
        ({**body("{type}"), "folder_id": "0" * 32}, "folder_id"),
        ({**body("{type}"), "title": "x" * 256}, "title"),
        (
            body("{type}", nope=[{"locale": "en_US", "field_values": [{"text_value": "x"}]}]),
            "content_body.fields.nope",
        ),
    ]
    update_path = CONTENTS + "/{id}"
    update_data = [
        ({"title": "Renamed"}, {"title": "Renamed", "content_body": {"title": "Renamed"}}),
        ({"is_archived": True}, {"is_archived": True}),
        (
            {"content_body": {"fields": values("title", {"text_value": "New text"})}},
            {
                "content_body": {
                    "latest_fields_version": {
                        "fields": values("title", {"text_value": "New text", "order_index": 0})
                    }
                }
            },
        ),
        (
            {"content_body": {"expired": True, "source": "cms", "source_id": "9"}},
            {"content_body": {"expired": True, "source": "cms", "source_id": "9"}},
        ),
    ]
    invalid_update = [
        (
            {"content_body": {"fields": {"title": [{"locale": "en_US", "delete": True}]}}},
            "content_body.fields.title",
        ),
        (
            {"content_body": {"fields": values("title", {"text_value": ""})}},
            "content_body.fields.title.0.field_values.0.text_value",
        ),
        ({"title": "   "}, "content_body.title"),
    ]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        type_id = self._type(world)
        disabled = create_type(
            self.client,
            world,
            "Off",
            details={"disabled": True},
            field_definitions=[text(min_length=1)],
        )
        folder = self.client.post(
            "/v3/folders", json={"name": "Stories"}, headers=world.auth("member")
        ).json()
        return {"type": type_id, "disabled": disabled["content_type_guid"], "folder": folder["id"]}

    def _type(self, world: World) -> str:
        if not hasattr(self, "_types"):
            self._types: dict[str, str] = {}
        if world.org.id not in self._types:
            made = create_type(
                self.client,
                world,
                field_definitions=[text(is_required=True, min_length=1, max_length=80)],
            )
            self._types[world.org.id] = made["content_type_guid"]
        return self._types[world.org.id]

    def make(self, db: Session, world: World, n: int) -> list[str]:
        type_id = self._type(world)
        return [create(self.client, world, type_id)["id"] for _ in range(n)]


def test_every_field_type_round_trips(client: Any, db: Session, world: World) -> None:
    image = client.post(
        "/v3/structured-contents",
        json=body(create_type(client, world, "Plain")["content_type_guid"]),
        headers=world.auth(),
    )
    author_type = create_type(client, world, "Author")["content_type_guid"]
    author = create(client, world, author_type)
    kinds = every_type(["structured_content"], [author_type])
    type_id = create_type(client, world, field_definitions=kinds)["content_type_guid"]
    fields = (
        values("body", {"rich_text_value": "<p>Hi</p>"})
        | values("count", {"num_value": 7})
        | values("flag", {"bool_value": False})
        | values("data", {"json_value": [1, {"a": None}]})
        | values("link", {"url": "https://example.com"})
        | values("place", {"latitude": 1.5, "longitude": -2})
        | values("when", {"datetime_value": "2031-02-03T04:05:06Z"})
        | values("size", {"choice_key": "l"})
        | values("image", {"asset_guid": image.json()["id"], "asset_type": "structured_content"})
        | values("related", {"content_guid": author["id"], "embedded": False})
    )
    made = create(client, world, type_id, **fields)
    got = client.get(f"{CONTENTS}/{made['id']}", headers=world.auth()).json()
    assert got == made
    assert set(stored(got)) == {"title", *fields}
    assert stored(got)["related"][0]["field_values"] == [
        {"content_guid": author["id"], "embedded": False, "order_index": 0}
    ]
    details = got["content_body"]
    assert (
        details["content_type"]["version"]["field_definitions"]
        == client.get(
            f"/v3/structured-content/content-types/{type_id}", headers=world.auth()
        ).json()["latest_version"]["field_definitions"]
    )
    assert details["links"]["self"] == f"https://testserver{CONTENTS}/{made['id']}"
    assert details["links"]["definition"].endswith(
        f"/content-types/{type_id}/versions/{details['content_type']['version']['version_guid']}"
    )


def test_fields_versions_change_only_with_the_fields(
    client: Any, db: Session, world: World
) -> None:
    type_id = create_type(
        client,
        world,
        field_definitions=[
            text(is_required=True),
            text("tags", is_list=True, need_internationalization=True),
        ],
        expected_locales=["en_US", "fr_FR"],
    )["content_type_guid"]
    made = create(
        client, world, type_id, **values("tags", {"text_value": "a"}, {"text_value": "b"})
    )
    first = made["content_body"]["latest_fields_version"]
    url = f"{CONTENTS}/{made['id']}"
    same = {"content_body": {"fields": values("tags", {"text_value": "a"}, {"text_value": "b"})}}
    r = client.patch(url, json=same, headers=world.auth("member"))
    assert (
        r.json()["content_body"]["latest_fields_version"]["version_guid"] == first["version_guid"]
    )
    en_edits = [{"delete": True, "order_index": 0}, {"text_value": "c"}]
    tags = [
        {"locale": "en_US", "field_values": en_edits},
        {"locale": "fr_FR", "field_values": [{"text_value": "x"}]},
    ]
    edit = {"content_body": {"fields": {"tags": tags}}}
    r = client.patch(url, json=edit, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    latest = r.json()["content_body"]["latest_fields_version"]
    assert latest["version_guid"] != first["version_guid"]
    assert latest["content_hash"] != first["content_hash"]
    by_locale = {
        e["locale"]: [v["text_value"] for v in e["field_values"]] for e in latest["fields"]["tags"]
    }
    assert by_locale == {"en_US": ["b", "c"], "fr_FR": ["x"]}
    r = client.patch(
        url,
        json={"content_body": {"fields": {"tags": [{"locale": "fr_FR", "delete": True}]}}},
        headers=world.auth("member"),
    )
    assert [e["locale"] for e in stored(r.json())["tags"]] == ["en_US"]


def test_contents_stay_on_their_type_version(client: Any, world: World) -> None:
    made_type = create_type(client, world)
    type_id = made_type["content_type_guid"]
    made = create(client, world, type_id)
    new = {
        "created_by": "x",
        "field_definitions": [text(is_required=True), text("subtitle", is_required=True)],
    }
    client.post(
        f"/v3/structured-content/content-types/{type_id}/versions", json=new, headers=world.auth()
    )
    r = client.patch(
        f"{CONTENTS}/{made['id']}", json={"title": "Still fine"}, headers=world.auth("member")
    )
    assert r.status_code == 200, r.text
    version = r.json()["content_body"]["content_type"]["version"]
    assert (version["version_guid"], version["latest"]) == (
        made_type["content_type_version_guid"],
        False,
    )
    newer = create(
        client,
        world,
        type_id,
        subtitle=[{"locale": "en_US", "field_values": [{"text_value": "s"}]}],
    )
    assert newer["content_body"]["content_type"]["version"]["latest"] is True


def test_listed_among_assets_with_events(client: Any, db: Session, world: World) -> None:
    type_id = create_type(client, world)["content_type_guid"]
    made = create(client, world, type_id)
    client.patch(
        f"{CONTENTS}/{made['id']}", json={"is_archived": True}, headers=world.auth("member")
    )
    listed = client.get(
        "/v3/assets", params={"type": "structured_content"}, headers=world.auth()
    ).json()["data"]
    assert [(a["id"], a["type"]) for a in listed] == [(made["id"], "structured_content")]
    link = f"https://testserver{CONTENTS}/{made['id']}"
    assert listed[0]["content"] == {"type": "api_url", "value": link}
    assert listed[0]["links"]["self"] == link
    events = list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)))
    assert [e.event_name for e in events] == ["asset_added", "asset_modified"]
    for event in events:
        asset = event.data["asset"]
        assert (asset["id"], asset["type"], asset["links"]["self"]) == (
            made["id"],
            "structured_content",
            link,
        )
    r = client.get(f"/v3/asset-urls/{made['id']}", headers=world.auth(), follow_redirects=False)
    assert r.headers["location"] == link


def test_references_are_checked_in_the_organization(client: Any, db: Session, world: World) -> None:
    from tests.support.world import build_world

    other = build_world(db, org_name="Other", prefix="other-")
    theirs_type = create_type(client, other)["content_type_guid"]
    theirs = create(client, other, theirs_type, who="admin")
    kinds = [
        text(),
        {"core": core("image", "library-asset"), "allowed_types": ["structured_content"]},
    ]
    type_id = create_type(client, world, field_definitions=kinds)["content_type_guid"]
    unchanged = Unchanged(db)
    bad = values("image", {"asset_guid": theirs["id"], "asset_type": "structured_content"})
    r = client.post(CONTENTS, json=body(type_id, **bad), headers=world.auth("member"))
    assert r.status_code == 422
    assert list(r.json()["errors"]) == ["content_body.fields.image.0.field_values.0.asset_guid"]
    r = client.get(f"{CONTENTS}/{theirs['id']}", headers=world.auth())
    assert r.status_code == 404
    unchanged.finally_("foreign references")


def test_other_asset_types_are_not_structured_contents(client: Any, world: World) -> None:
    type_id = create_type(client, world)["content_type_guid"]
    made = create(client, world, type_id)
    assert client.get(f"/v3/images/{made['id']}", headers=world.auth()).status_code == 404
    r = client.post(
        f"/v3/assets/{made['id']}/versions", json={"key": "x", "title": "t"}, headers=world.auth()
    )
    assert r.status_code in (404, 422)
