"""Managed migrations: validate, create, list, get, update, delete, start, and the job
that moves the contents (run here by an in-process worker)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.jobs.tables import Job
from cmpapi.server.resources.structured_content import managed_jobs, managed_migrations
from cmpapi.server.resources.structured_content.tables import Content, ContentFieldsVersion
from cmpapi.server.settings import Settings
from tests.support.sc_migrations import (
    Versions,
    create_content,
    make_type,
    read_content,
    run_worker,
    status_of,
    v1_fields,
    values,
)
from tests.support.snapshot import Unchanged
from tests.support.tasks import create_task
from tests.support.world import World

SUBTITLE = values("subtitle", {"text_value": "Default subtitle"})


def migrations(type_id: str) -> str:
    return f"/v3/structured-content/content-types/{type_id}/managed-migrations"


@pytest.fixture
def story(client: Any, world: World) -> Versions:
    """A type with three contents on version 1 (one with size "l", which version 2
    drops), then version 2."""
    versions = make_type(client, world)
    for title, size in (("One", "s"), ("Two", "s"), ("Three", "l")):
        create_content(client, world, versions.type_id, v1_fields(title, size))
    versions.add_v2(client, world)
    return versions


def create(client: Any, world: World, versions: Versions, **extra: Any) -> str:
    sent = {"source_content_type_version_id": versions.v1, "created_by": "u1", **extra}
    r = client.post(migrations(versions.type_id), json=sent, headers=world.auth())
    assert r.status_code == 201, r.text
    assert r.json()["created"] is True
    job_id: str = r.json()["job_id"]
    return job_id


def get(client: Any, world: World, versions: Versions, job_id: str) -> dict[str, Any]:
    r = client.get(f"{migrations(versions.type_id)}/{job_id}", headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_validate(client: Any, world: World, story: Versions) -> None:
    path = migrations(story.type_id) + "/validate"

    def possible(**sent: Any) -> bool:
        sent = {"source_content_type_version_id": story.v1, **sent}
        r = client.post(path, json=sent, headers=world.auth("viewer"))
        assert r.status_code == 200, r.text
        return bool(r.json()["is_managed_migration_possible"])

    assert not possible()  # subtitle is required and has no value
    assert not possible(default_values=SUBTITLE)  # "l" is not a choice of version 2
    assert possible(default_values=SUBTITLE | values("size", {"choice_key": "m"})) is False
    assert not possible(source_content_type_version_id=story.v2)  # already the latest

    r = client.post(
        migrations("0" * 32) + "/validate",
        json={"source_content_type_version_id": "x"},
        headers=world.auth(),
    )
    assert (r.status_code, r.json()) == (404, {"detail": "Could not find the content type"})
    r = client.post(path, json={"source_content_type_version_id": "0" * 32}, headers=world.auth())
    assert r.status_code == 404
    r = client.post(
        path,
        json={"source_content_type_version_id": story.v1, "default_values": {"nope": []}},
        headers=world.auth(),
    )
    assert r.status_code == 422
    assert ["body", "default_values", "nope"] in [d["loc"] for d in r.json()["detail"]]


def test_validate_true_when_every_content_maps(client: Any, world: World) -> None:
    versions = make_type(client, world)
    create_content(client, world, versions.type_id, v1_fields("Only", "s"))
    versions.add_v2(client, world)
    sent = {"source_content_type_version_id": versions.v1, "default_values": SUBTITLE}
    r = client.post(migrations(versions.type_id) + "/validate", json=sent, headers=world.auth())
    assert r.json() == {"is_managed_migration_possible": True}


def test_create_list_get(client: Any, world: World, story: Versions) -> None:
    job_id = create(client, world, story, default_values=SUBTITLE)
    again = {"source_content_type_version_id": story.v1, "created_by": "u2"}
    r = client.post(migrations(story.type_id), json=again, headers=world.auth())
    assert (r.status_code, r.json()) == (200, {"created": False})  # one is waiting already

    found = get(client, world, story, job_id)
    assert found == {
        "id": job_id,
        "content_type_id": story.type_id,
        "instance_id": world.org.id,
        "source_content_type_version_id": story.v1,
        "target_content_type_version_id": story.v2,
        "status": "not_started",
        "default_values": SUBTITLE,
        "created_at": found["created_at"],
        "updated_at": found["updated_at"],
        "content_migration_summary": {
            "total": 3,
            "succeeded": 0,
            "errored": 0,
            "skipped": 0,
            "not_started": 3,
        },
    }
    r = client.get(migrations(story.type_id), headers=world.auth("viewer"))
    assert [m["id"] for m in r.json()] == [job_id]
    assert "content_migration_summary" not in r.json()[0]
    r = client.get(
        migrations(story.type_id),
        params={"content_migration_summary": "true"},
        headers=world.auth(),
    )
    assert r.json()[0]["content_migration_summary"]["total"] == 3
    r = client.get(migrations(story.type_id), params={"offset": 1}, headers=world.auth())
    assert r.json() == []


def test_create_refusals(client: Any, db: Session, world: World, story: Versions) -> None:
    path = migrations(story.type_id)
    sent = {"source_content_type_version_id": story.v1, "created_by": "u1"}
    cases: list[tuple[str, dict[str, Any], str, int, dict[str, Any] | str]] = [
        (path, {**sent, "source_content_type_version_id": story.v2}, "admin", 400, "message"),
        (path, {**sent, "source_content_type_version_id": "0" * 32}, "admin", 404, "message"),
        (migrations("0" * 32), sent, "admin", 404, "message"),
        (path, {**sent, "default_values": {"nope": []}}, "admin", 400, "message"),
        (path, {**sent, "default_values": {"title": ["x"]}}, "admin", 400, "message"),
        (path, {"created_by": "u1"}, "admin", 422, "detail"),
        (path, sent, "member", 403, "detail"),
    ]
    unchanged = Unchanged(db)
    for url, body, who, status, key in cases:
        r = client.post(url, json=body, headers=world.auth(who))
        assert r.status_code == status, (body, r.text)
        assert key in r.json(), r.text
        unchanged.after(str(body))
    unchanged.finally_("refused creates")
    r = client.post(path, json={**sent, "default_values": {"nope": []}}, headers=world.auth())
    assert "default_values.nope" in r.json()["errors"]


def test_update_and_delete_only_before_start(
    client: Any, db: Session, world: World, story: Versions
) -> None:
    job_id = create(client, world, story)
    item = f"{migrations(story.type_id)}/{job_id}"
    r = client.patch(item, json={"default_values": SUBTITLE}, headers=world.auth())
    assert (r.status_code, r.json()) == (200, {"updated": True})
    assert get(client, world, story, job_id)["default_values"] == SUBTITLE
    r = client.patch(item, json={"default_values": {"nope": []}}, headers=world.auth())
    assert r.status_code == 422
    assert ["body", "default_values", "nope"] in [d["loc"] for d in r.json()["detail"]]
    assert (
        client.patch(item, json={"default_values": {}}, headers=world.auth("member")).status_code
        == 403
    )

    r = client.post(item + "/start", headers=world.auth())
    assert (r.status_code, r.json()) == (200, {"job_id": job_id, "started": True})
    unchanged = Unchanged(db)
    r = client.patch(item, json={"default_values": {}}, headers=world.auth())
    assert r.status_code == 400 and "detail" in r.json()
    r = client.delete(item, headers=world.auth())
    assert r.status_code == 400 and "message" in r.json()
    r = client.post(item + "/start", headers=world.auth())
    assert r.status_code == 400 and "not_started or error" in r.json()["detail"]
    unchanged.finally_("changes to a started migration")

    other = create(client, world, make_versions_with_v2(client, world))
    assert other
    r = client.delete(f"{migrations(story.type_id)}/{'0' * 32}", headers=world.auth())
    assert r.status_code == 404 and "message" in r.json()


def make_versions_with_v2(client: Any, world: World) -> Versions:
    versions = make_type(client, world, "Another")
    versions.add_v2(client, world)
    return versions


def test_delete(client: Any, world: World, story: Versions) -> None:
    job_id = create(client, world, story)
    item = f"{migrations(story.type_id)}/{job_id}"
    assert client.delete(item, headers=world.auth("member")).status_code == 403
    r = client.delete(item, headers=world.auth())
    assert r.status_code == 204 and r.content == b""
    r = client.get(item, headers=world.auth())
    assert r.status_code == 404 and "detail" in r.json()
    assert client.delete(item, headers=world.auth()).status_code == 404


def test_start_runs_the_job_to_the_end(
    client: Any, db: Session, world: World, settings: Settings, story: Versions
) -> None:
    job_id = create(
        client, world, story, default_values=SUBTITLE | values("size", {"choice_key": "m"})
    )
    item = f"{migrations(story.type_id)}/{job_id}"
    r = client.post(item + "/start", headers=world.auth())
    assert r.status_code == 200, r.text
    assert get(client, world, story, job_id)["status"] == "in_progress"
    engine = client.app.state.engine
    run_worker(settings, lambda: status_of(engine, job_id) != "in_progress")

    found = get(client, world, story, job_id)
    # "Three" had size "l", which version 2 does not have: an error, not a default.
    assert found["status"] == "error"
    assert found["content_migration_summary"] == {
        "total": 3,
        "succeeded": 2,
        "errored": 1,
        "skipped": 0,
        "not_started": 0,
    }
    r = client.get(
        f"/ext/v1/structured-content/managed-migrations/{job_id}/failures", headers=world.auth()
    )
    assert r.status_code == 200, r.text
    [failure] = r.json()["data"]
    assert list(failure["errors"]) == ["fields.size.0.field_values.0.choice_key"]
    assert failure["error"] == "Not valid on the target content type version"
    failed_id = failure["content_id"]
    assert (
        read_content(client, world, failed_id)["content_type"]["version"]["version_guid"]
        == story.v1
    )

    listed = client.get(
        "/v3/assets", params={"type": "structured_content", "page_size": 10}, headers=world.auth()
    ).json()["data"]
    moved = [a["id"] for a in listed if a["id"] != failed_id]
    for content_id in moved:
        shown = read_content(client, world, content_id)
        assert shown["content_type"]["version"]["version_guid"] == story.v2
        fields = shown["latest_fields_version"]["fields"]
        assert fields["subtitle"][0]["field_values"][0]["text_value"] == "Default subtitle"
        assert fields["size"][0]["field_values"][0]["choice_key"] == "s"  # its own value wins
        assert shown["updated_by"] == "u1"

    # Fix the failed content by hand, then start again: it is skipped (no longer on v1).
    content = client.get(f"/v3/structured-contents/{failed_id}", headers=world.auth()).json()
    sent = {
        "created_by": "u1",
        "content_hash": content["content_body"]["latest_fields_version"]["content_hash"],
        "fields": SUBTITLE | values("size", {"choice_key": "m"}),
    }
    r = client.post(
        f"/v3/structured-content/contents/{failed_id}/migration", json=sent, headers=world.auth()
    )
    assert r.status_code == 201, r.text
    assert client.post(item + "/start", headers=world.auth()).status_code == 200
    run_worker(settings, lambda: status_of(engine, job_id) != "in_progress")
    found = get(client, world, story, job_id)
    assert found["status"] == "success"
    assert found["content_migration_summary"] == {
        "total": 3,
        "succeeded": 2,
        "errored": 0,
        "skipped": 1,
        "not_started": 0,
    }
    per_content = db.execute(
        select(ContentFieldsVersion.content_id, func.count()).group_by(
            ContentFieldsVersion.content_id
        )
    ).all()
    assert sorted(n for _, n in per_content) == [2, 2, 2]  # created + migrated once each
    assert (
        db.scalar(select(func.count()).select_from(Job).where(Job.kind == "sc.managed_migration"))
        == 2
    )


def test_reads_and_starts_of_unknown_ones(client: Any, world: World, story: Versions) -> None:
    base = migrations(story.type_id)
    for method, url in (
        ("GET", f"{base}/{'0' * 32}"),
        ("POST", f"{base}/{'0' * 32}/start"),
        ("GET", migrations("0" * 32)),
    ):
        r = client.request(method, url, headers=world.auth())
        assert r.status_code == 404, url
        assert isinstance(r.json()["detail"], str)
    assert client.post(f"{base}/x/start", headers=world.auth("member")).status_code == 403
    assert client.get(base).status_code == 401


def test_jobs_hand_over_and_an_unreadable_content_fails_alone(
    client: Any,
    db: Session,
    world: World,
    settings: Settings,
    story: Versions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every job hands over after one batch of one content: the migration goes through a
    # chain of jobs, each fenced off by the next.
    monkeypatch.setattr(managed_migrations, "BATCH_SIZE", 1)
    monkeypatch.setattr(managed_jobs, "SLICE_SECONDS", 0.0)
    # One content's stored fields are not an object any more (a hand-made row).
    broken = db.scalars(select(Content).order_by(Content.created_at)).first()
    assert broken is not None
    db.execute(
        update(ContentFieldsVersion)
        .where(ContentFieldsVersion.id == broken.latest_fields_version_id)
        .values(fields=["not", "fields"])
    )
    db.commit()
    job_id = create(client, world, story, default_values=SUBTITLE)
    item = f"{migrations(story.type_id)}/{job_id}"
    assert client.post(item + "/start", headers=world.auth()).status_code == 200
    engine = client.app.state.engine
    run_worker(settings, lambda: status_of(engine, job_id) != "in_progress")

    found = get(client, world, story, job_id)
    assert found["status"] == "error"
    # "Three" (size "l") cannot move; the unreadable one fails alone.
    assert found["content_migration_summary"]["errored"] == 2
    assert found["content_migration_summary"]["succeeded"] == 1
    r = client.get(
        f"/ext/v1/structured-content/managed-migrations/{job_id}/failures", headers=world.auth()
    )
    body = r.json()
    assert (body["status"], body["migration_error"]) == ("error", None)
    unreadable = [f for f in body["data"] if f["content_id"] == broken.id]
    assert unreadable == [
        {
            "content_id": broken.id,
            "error": "The content's stored fields could not be read",
            "errors": {},
            "at": unreadable[0]["at"],
        }
    ]
    runs = db.scalars(select(Job).where(Job.kind == "sc.managed_migration")).all()
    assert len(runs) == 4  # one per batch (three contents), then the one that finishes
    assert all(j.status == "succeeded" for j in runs)
    r = client.get(
        "/ext/v1/structured-content/managed-migrations/x/failures", headers=world.auth("member")
    )
    assert r.status_code == 403


def test_the_job_moves_task_contents_too(
    client: Any, db: Session, world: World, settings: Settings
) -> None:
    versions = make_type(client, world)
    library = create_content(client, world, versions.type_id, v1_fields("Library"))
    task_id = str(create_task(client, world, None)["id"])
    body = {"content_type_guid": versions.type_id, "title": "Page", "fields": v1_fields("Task")}
    r = client.post(f"/v3/tasks/{task_id}/structured-contents", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    in_task = r.json()["content_guid"]
    versions.add_v2(client, world)
    job_id = create(client, world, versions, default_values=SUBTITLE)
    events = db.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    item = f"{migrations(versions.type_id)}/{job_id}"
    assert client.post(item + "/start", headers=world.auth()).status_code == 200
    engine = client.app.state.engine
    run_worker(settings, lambda: status_of(engine, job_id) != "in_progress")
    assert get(client, world, versions, job_id)["status"] == "success"
    new = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at).offset(events)).all()
    assert sorted((e.event_name, e.data["asset"]["id"]) for e in new) == sorted(
        [("asset_modified", library["id"]), ("task_asset_modified", in_task)]
    )
