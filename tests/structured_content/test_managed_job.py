"""The managed migration job at scale and under a crash: 10,000 contents migrated in
batches, and a real `cmpapi worker` killed with SIGKILL mid-way, then another one
finishing the work: every content migrated exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmpapi.server.jobs.tables import Job
from cmpapi.server.resources.structured_content import managed_migrations
from cmpapi.server.resources.structured_content.managed_tables import (
    SUCCEEDED,
    ManagedMigrationItem,
)
from cmpapi.server.resources.structured_content.tables import Content, ContentFieldsVersion
from cmpapi.server.settings import Settings
from tests.support.sc_migrations import (
    clone_contents,
    create_content,
    run_worker,
    status_of,
    values,
)
from tests.support.structured_content import TYPES, create_type, text
from tests.support.workers import Start, wait_for, worker_processes
from tests.support.world import World


def prepared(client: Any, db: Session, world: World, n: int) -> tuple[str, str, str]:
    """``n`` contents on version 1 of a type (one made by the API, the rest cloned from
    it), then version 2 with a new required field; a migration with its default value.
    Returns the type id, version 2's id and the migration id."""
    made = create_type(client, world, "Bulk", field_definitions=[text("title", is_required=True)])
    type_id = made["content_type_guid"]
    first = create_content(client, world, type_id, values("title", {"text_value": "Same"}))
    clone_contents(db, first["id"], n - 1)
    definitions = [text("title", is_required=True), text("subtitle", is_required=True)]
    r = client.post(
        f"{TYPES}/{type_id}/versions",
        headers=world.auth(),
        json={"created_by": "u1", "field_definitions": definitions},
    )
    assert r.status_code == 201, r.text
    target = r.json()["content_type_version_guid"]
    sent = {
        "source_content_type_version_id": made["content_type_version_guid"],
        "created_by": "u1",
        "default_values": values("subtitle", {"text_value": "Added"}),
    }
    r = client.post(f"{TYPES}/{type_id}/managed-migrations", json=sent, headers=world.auth())
    assert r.status_code == 201, r.text
    return type_id, target, r.json()["job_id"]


def start(client: Any, world: World, type_id: str, job_id: str) -> None:
    r = client.post(f"{TYPES}/{type_id}/managed-migrations/{job_id}/start", headers=world.auth())
    assert r.status_code == 200, r.text


def summary(client: Any, world: World, type_id: str, job_id: str) -> dict[str, Any]:
    r = client.get(f"{TYPES}/{type_id}/managed-migrations/{job_id}", headers=world.auth())
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def migrated_once(engine: Engine, target: str, n: int) -> None:
    """Every content is on the target version with exactly two fields versions (created,
    migrated), the migrated one being its latest and its item's."""
    with Session(engine) as s:
        on_target = s.scalar(select(func.count()).where(Content.content_type_version_id == target))
        per_content = s.execute(
            select(ContentFieldsVersion.content_id, func.count())
            .group_by(ContentFieldsVersion.content_id)
            .having(func.count() != 2)
        ).all()
        mismatched = s.scalar(
            select(func.count())
            .select_from(ManagedMigrationItem)
            .join(Content, Content.id == ManagedMigrationItem.content_id)
            .where(
                (ManagedMigrationItem.status != SUCCEEDED)
                | (ManagedMigrationItem.fields_version_id != Content.latest_fields_version_id)
            )
        )
    assert on_target == n
    assert per_content == []
    assert mismatched == 0


def succeeded(engine: Engine) -> int:
    with Session(engine) as s:
        stmt = select(func.count()).where(ManagedMigrationItem.status == SUCCEEDED)
        return s.scalar(stmt) or 0


def test_ten_thousand_contents(client: Any, db: Session, world: World, settings: Settings) -> None:
    if not settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("the scale run is on SQLite; the crash test covers PostgreSQL")
    n = 10_000
    type_id, target, job_id = prepared(client, db, world, n)
    start(client, world, type_id, job_id)
    engine = client.app.state.engine
    began = time.monotonic()
    run_worker(settings, lambda: status_of(engine, job_id) != "in_progress", timeout=120)
    took = time.monotonic() - began
    found = summary(client, world, type_id, job_id)
    assert found["status"] == "success"
    assert found["content_migration_summary"] == {
        "total": n,
        "succeeded": n,
        "errored": 0,
        "skipped": 0,
        "not_started": 0,
    }
    migrated_once(engine, target, n)
    print(f"{n} contents migrated in {took:.1f} s")


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Start]:
    """Starts `cmpapi worker` processes on the test database; kills leftovers."""
    with worker_processes(settings.resolved_database_url, tmp_path) as start:
        yield lambda name: start(name, "--concurrency", "2", CMPAPI_WORKER_PROCESSES="1")


def test_worker_killed_mid_way_migrates_each_content_once(
    client: Any,
    db: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    n, size = 1_000, 25  # 40 batches: the kill at 300 lands mid-way, 700 are left
    monkeypatch.setattr(managed_migrations, "BATCH_SIZE", size)  # many batches to land in
    type_id, target, job_id = prepared(client, db, world, n)
    start(client, world, type_id, job_id)
    engine = client.app.state.engine

    first = start_worker("first")
    wait_for(lambda: succeeded(engine) >= 300, first, 60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = succeeded(engine)
    assert at_kill < n, "the worker finished before it was killed: nothing was tested"
    assert at_kill % size == 0, "a batch is committed whole or not at all"

    second = start_worker("second")
    wait_for(lambda: status_of(engine, job_id) != "in_progress", second, 90)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0

    found = summary(client, world, type_id, job_id)
    assert found["status"] == "success"
    assert found["content_migration_summary"] == {
        "total": n,
        "succeeded": n,
        "errored": 0,
        "skipped": 0,
        "not_started": 0,
    }
    migrated_once(engine, target, n)
    with Session(engine) as s:
        jobs = s.scalars(select(Job).where(Job.kind == "sc.managed_migration")).all()
    # The killed job ran again once its lease lapsed.
    assert all(j.status == "succeeded" for j in jobs)
    assert max(j.attempts for j in jobs) >= 2
    print(f"killed after {at_kill} of {n} contents; jobs: {[(j.attempts) for j in jobs]}")
