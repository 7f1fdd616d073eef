"""Structured-content migration test helpers: a content type with two versions, library
contents made through the API, contents cloned in bulk, and a worker run in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.structured_content.managed_tables import ManagedMigration
from cmpapi.server.resources.structured_content.tables import Content, ContentFieldsVersion
from cmpapi.server.settings import Settings
from tests.support.structured_content import TYPES, core, create_type, text
from tests.support.workers import drive
from tests.support.world import World

CONTENTS = "/v3/structured-contents"

# Version 1: title (required), body, count (a number), size (a choice).
V1 = [
    text("title", is_required=True, max_length=80),
    {"core": core("body", "rich-text"), "min_visual_text_length": 0},
    {"core": core("count", "number"), "min_value": 0, "max_value": 100},
    {"core": core("size", "choice"), "choices": {"s": "Small", "l": "Large"}},
]
# Version 2: title kept, body gone, count now a text (its values are dropped), size loses
# "l", a new required subtitle.
V2 = [
    text("title", is_required=True, max_length=80),
    text("count"),
    {"core": core("size", "choice"), "choices": {"s": "Small", "m": "Medium"}},
    text("subtitle", is_required=True, min_length=1),
]


def values(key: str, *items: dict[str, Any], locale: str = "en_US") -> dict[str, Any]:
    """``{key: [{"locale", "field_values": items}]}``."""
    return {key: [{"locale": locale, "field_values": list(items)}]}


def v1_fields(title: str = "Spring", size: str = "s") -> dict[str, Any]:
    return (
        values("title", {"text_value": title})
        | values("body", {"rich_text_value": "<p>Long text</p>"})
        | values("count", {"num_value": 3})
        | values("size", {"choice_key": size})
    )


@dataclass
class Versions:
    """A content type and its two versions."""

    type_id: str
    v1: str
    v2: str = ""

    def add_v2(self, client: Any, world: World, definitions: list[Any] = V2) -> str:
        body = {"created_by": world.users["admin"].id, "field_definitions": definitions}
        r = client.post(f"{TYPES}/{self.type_id}/versions", json=body, headers=world.auth())
        assert r.status_code == 201, r.text
        self.v2 = r.json()["content_type_version_guid"]
        return self.v2


def make_type(client: Any, world: World, name: str = "Story") -> Versions:
    made = create_type(client, world, name, field_definitions=V1)
    return Versions(made["content_type_guid"], made["content_type_version_guid"])


def create_content(
    client: Any, world: World, type_id: str, fields: dict[str, Any], who: str = "member"
) -> dict[str, Any]:
    """A library content made through createStructuredContent."""
    body = {
        "title": "Story",
        "content_body": {"content_type_guid": type_id, "root_content": True, "fields": fields},
    }
    r = client.post(CONTENTS, json=body, headers=world.auth(who))
    assert r.status_code == 200, r.text
    made: dict[str, Any] = r.json()
    return made


def read_content(client: Any, world: World, content_id: str) -> dict[str, Any]:
    r = client.get(f"{CONTENTS}/{content_id}", headers=world.auth())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["content_body"]
    return body


def clone_contents(db: Session, template_id: str, n: int) -> list[str]:
    """``n`` copies of a library content (asset, content and fields version rows, new ids),
    inserted in bulk: what createStructuredContent writes, minus the per-request work."""
    asset = _row(db, Asset, template_id)
    content = _row(db, Content, template_id)
    fields = _row(db, ContentFieldsVersion, content["latest_fields_version_id"])
    ids = [new_id() for _ in range(n)]
    versions = [new_id() for _ in range(n)]
    db.execute(insert(Asset), [asset | {"id": i} for i in ids])
    pairs = list(zip(ids, versions, strict=True))
    db.execute(
        insert(Content),
        [content | {"id": i, "asset_id": i, "latest_fields_version_id": v} for i, v in pairs],
    )
    db.execute(
        insert(ContentFieldsVersion),
        [fields | {"id": v, "content_id": i} for i, v in pairs],
    )
    db.commit()
    return ids


def _row(db: Session, model: Any, row_id: str) -> dict[str, Any]:
    table = model.__table__
    found = db.execute(select(table).where(table.c.id == row_id)).mappings().one()
    return dict(found)


def fast(settings: Settings) -> Settings:
    """Worker settings with compressed timings (as tests/jobs)."""
    return settings.model_copy(
        update={
            "worker_poll_interval": 0.05,
            "worker_lease_seconds": 5,
            "worker_retry_schedule": "0.05",
            "worker_shutdown_timeout": 2,
            "worker_processes": 1,
        }
    )


def run_worker(settings: Settings, until: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run a job worker in this process until ``until()`` holds."""
    drive(Worker(fast(settings)), until, timeout)


def status_of(engine: Engine, migration_id: str) -> str:
    """A managed migration's status, read on its own connection."""
    with Session(engine) as s:
        row = s.get(ManagedMigration, migration_id)
        assert row is not None
        return row.status
