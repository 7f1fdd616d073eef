"""migrateSCContent: one content moved to another version of its content type."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.structured_content.tables import ContentFieldsVersion
from tests.support.sc_migrations import (
    Versions,
    create_content,
    make_type,
    read_content,
    v1_fields,
    values,
)
from tests.support.snapshot import Unchanged
from tests.support.tasks import create_task
from tests.support.world import World


def migrate_path(content_id: str) -> str:
    return f"/v3/structured-content/contents/{content_id}/migration"


@pytest.fixture
def story(client: Any, world: World) -> tuple[Versions, dict[str, Any]]:
    """A type with a content on version 1, then version 2 added."""
    versions = make_type(client, world)
    content = create_content(client, world, versions.type_id, v1_fields())
    versions.add_v2(client, world)
    return versions, content


def body(content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    latest = content["content_body"]["latest_fields_version"]
    return {"created_by": "u1", "content_hash": latest["content_hash"], **extra}


def versions_of(db: Session, content_id: str) -> int:
    stmt = select(func.count()).where(ContentFieldsVersion.content_id == content_id)
    return db.scalar(stmt) or 0


SUBTITLE = values("subtitle", {"text_value": "Told again"})


def test_migrate_to_the_latest_version_maps_fields(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    versions, content = story
    events = db.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    r = client.post(
        migrate_path(content["id"]),
        json=body(content, fields=SUBTITLE, source="cms", source_id="7"),
        headers=world.auth("member"),
    )
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["created"] is True and answer["content_guid"] == content["id"]

    shown = read_content(client, world, content["id"])
    latest = shown["latest_fields_version"]
    assert shown["content_type"]["version"]["version_guid"] == versions.v2
    assert (latest["version_guid"], latest["content_hash"]) == (
        answer["version_guid"],
        answer["content_hash"],
    )
    # title and size carry over; body (gone) and count (now a text) are dropped.
    assert latest["fields"] == {
        "title": [
            {"locale": "en_US", "field_values": [{"text_value": "Spring", "order_index": 0}]}
        ],
        "size": [{"locale": "en_US", "field_values": [{"choice_key": "s", "order_index": 0}]}],
        "subtitle": [
            {"locale": "en_US", "field_values": [{"text_value": "Told again", "order_index": 0}]}
        ],
    }
    assert latest["created_by"] == "u1"
    assert (shown["source"], shown["source_id"], shown["updated_by"]) == ("cms", "7", "u1")
    new = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at).offset(events)).all()
    assert [(e.event_name, e.data["asset"]["id"]) for e in new] == [
        ("asset_modified", content["id"])
    ]
    assert (
        new[0].data["asset"]["links"]["self"].endswith(f"/v3/structured-contents/{content['id']}")
    )


def test_request_fields_override_carried_values(
    client: Any, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    _, content = story
    given = SUBTITLE | values("title", {"text_value": "Renamed"})
    r = client.post(
        migrate_path(content["id"]), json=body(content, fields=given), headers=world.auth()
    )
    assert r.status_code == 201, r.text
    fields = read_content(client, world, content["id"])["latest_fields_version"]["fields"]
    assert fields["title"][0]["field_values"][0]["text_value"] == "Renamed"


def test_migrate_back_to_an_older_version(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    versions, content = story
    r = client.post(
        migrate_path(content["id"]), json=body(content, fields=SUBTITLE), headers=world.auth()
    )
    moved = read_content(client, world, content["id"])
    back = {
        "created_by": "u1",
        "content_hash": r.json()["content_hash"],
        "new_content_type_version_id": versions.v1,
    }
    r = client.post(migrate_path(content["id"]), json=back, headers=world.auth())
    assert r.status_code == 201, r.text
    shown = read_content(client, world, content["id"])
    assert shown["content_type"]["version"]["version_guid"] == versions.v1
    # subtitle is not in version 1; title and size come back.
    assert set(shown["latest_fields_version"]["fields"]) == {"title", "size"}
    assert moved["latest_fields_version"]["version_guid"] != r.json()["version_guid"]
    assert versions_of(db, content["id"]) == 3


def test_nothing_to_change_writes_nothing(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    versions, content = story
    same = body(content, new_content_type_version_id=versions.v1)
    unchanged = Unchanged(db)
    r = client.post(migrate_path(content["id"]), json=same, headers=world.auth())
    unchanged.finally_("a migration to the same version with the same fields")
    assert r.status_code == 201, r.text
    latest = content["content_body"]["latest_fields_version"]
    assert r.json() == {
        "content_guid": content["id"],
        "content_hash": latest["content_hash"],
        "created": False,
        "version_guid": latest["version_guid"],
    }


def test_refusals_write_nothing(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    versions, content = story
    other = make_type(client, world, "Other")
    path = migrate_path(content["id"])
    cases: list[tuple[str, dict[str, Any], int, Any]] = [
        (path, {"created_by": "u1", "fields": SUBTITLE}, 422, ["body", "content_hash"]),
        (path, body(content), 422, ["body", "fields", "subtitle"]),
        (
            path,
            body(content, fields=values("subtitle", {"text_value": ""})),
            422,
            ["body", "fields", "subtitle", "0", "field_values", "0", "text_value"],
        ),
        (
            path,
            body(content, fields=values("nope", {"text_value": "x"})),
            422,
            ["body", "fields", "nope"],
        ),
        (path, body(content, fields=SUBTITLE, content_hash="0" * 64), 409, "message"),
        (
            path,
            body(content, fields=SUBTITLE, new_content_type_version_id=other.v1),
            400,
            "message",
        ),
        (
            path,
            body(content, fields=SUBTITLE, new_content_type_version_id="0" * 32),
            404,
            "message",
        ),
        (migrate_path("0" * 32), body(content), 404, "message"),
    ]
    unchanged = Unchanged(db)
    for url, sent, status, where in cases:
        r = client.post(url, json=sent, headers=world.auth())
        assert r.status_code == status, (sent, r.text)
        if where == "message":  # the spec's ClientError / NotFound: the CMP body
            assert isinstance(r.json()["message"], str)
        else:
            assert where in [d["loc"] for d in r.json()["detail"]], r.text
        unchanged.after(str(sent))
    unchanged.finally_("refused migrations")
    assert versions.v2


def test_a_changed_content_is_a_conflict(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    _, content = story
    patch = {"content_body": {"fields": values("title", {"text_value": "Edited"})}}
    r = client.patch(f"/v3/structured-contents/{content['id']}", json=patch, headers=world.auth())
    assert r.status_code == 200, r.text
    unchanged = Unchanged(db)
    r = client.post(
        migrate_path(content["id"]), json=body(content, fields=SUBTITLE), headers=world.auth()
    )
    unchanged.finally_("a stale content_hash")
    assert r.status_code == 409
    assert "content_hash" in r.json()["message"]


def test_who_may_migrate(
    client: Any, db: Session, world: World, story: tuple[Versions, dict[str, Any]]
) -> None:
    _, content = story
    sent = body(content, fields=SUBTITLE)
    path = migrate_path(content["id"])
    unchanged = Unchanged(db)
    assert client.post(path, json=sent).status_code == 401
    r = client.post(path, json=sent, headers=world.auth("viewer"))
    assert r.status_code == 403
    assert isinstance(r.json()["detail"], str)
    unchanged.finally_("refused callers")
    assert client.post(path, json=sent, headers=world.auth("member")).status_code == 201


def test_a_task_content_migrates_through_its_task(client: Any, db: Session, world: World) -> None:
    versions = make_type(client, world)
    task_id = str(create_task(client, world, None)["id"])
    body = {"content_type_guid": versions.type_id, "title": "Page", "fields": v1_fields()}
    r = client.post(f"/v3/tasks/{task_id}/structured-contents", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    made = r.json()
    versions.add_v2(client, world)
    events = db.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    sent = {
        "created_by": "u1",
        "content_hash": made["latest_fields_version"]["content_hash"],
        "fields": SUBTITLE,
    }
    path = migrate_path(made["content_guid"])
    assert client.post(path, json=sent, headers=world.auth("viewer")).status_code == 403
    r = client.post(path, json=sent, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    r = client.get(
        f"/v3/tasks/{task_id}/structured-contents/{made['content_guid']}", headers=world.auth()
    )
    assert r.json()["content_type"]["version"]["version_guid"] == versions.v2
    new = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at).offset(events)).all()
    assert [(e.event_name, e.data.get("attributes_changed")) for e in new] == [
        ("task_asset_modified", ["versions"])
    ]
    assert new[0].data["asset"]["id"] == made["content_guid"]
