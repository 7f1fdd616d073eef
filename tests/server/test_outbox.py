"""The event outbox writes in the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.catalog import EVENT_NAMES, GROUPS
from cmpapi.server.events.outbox import OutboxEvent, record_event
from tests.support.world import World


def test_catalog_has_the_43_cmp_events() -> None:
    assert len(EVENT_NAMES) == 43
    assert sum(len(g) for g in GROUPS.values()) == 43


def test_event_commits_with_the_change(db: Session, world: World) -> None:
    world.team.name = "Renamed"
    record_event(db, "asset_added", {"asset": {"id": "a1"}}, org_id=world.org.id)
    db.commit()
    rows = db.scalars(select(OutboxEvent)).all()
    assert [(e.event_name, e.data, e.org_id) for e in rows] == [
        ("asset_added", {"asset": {"id": "a1"}}, world.org.id)
    ]
    assert rows[0].dispatched_at is None


def test_event_rolls_back_with_the_change(db: Session, world: World) -> None:
    world.team.name = "Renamed"
    record_event(db, "task_added", {"task": {"id": "t1"}}, org_id=world.org.id)
    db.rollback()
    assert db.scalars(select(OutboxEvent)).all() == []
    db.refresh(world.team)
    assert world.team.name == "Acme Team"


def test_unknown_event_name_is_refused(db: Session, world: World) -> None:
    with pytest.raises(ValueError, match="unknown webhook event"):
        record_event(db, "asset_exploded", {}, org_id=world.org.id)
