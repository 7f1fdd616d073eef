"""Service rules: the Settings API's merge by name, validation, disabling; fan-out."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmpapi.server.db.engine import make_sessionmaker
from cmpapi.server.errors import Invalid
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.identity.service import create_organization
from cmpapi.server.jobs.tables import Job
from cmpapi.server.webhooks import fanout, service
from cmpapi.server.webhooks.tables import Delivery, Webhook
from cmpapi.server.webhooks.trigger import DISPATCH
from tests.webhooks.conftest import add_webhook, deliveries, record


def test_merge_by_name_unions_event_names(session: Session, org: str) -> None:
    first = service.merge_webhook_by_name(
        session, org, "Sync", "https://a.example.com/", "s1", ["asset_added"]
    )
    assert (first.action, first.created, first.added_event_names) == (
        "create",
        True,
        ["asset_added"],
    )
    again = service.merge_webhook_by_name(
        session, org, "Sync", None, None, ["asset_added", "task_added"]
    )
    assert (again.action, again.webhook.id, again.added_event_names) == (
        "update",
        first.webhook.id,
        ["task_added"],
    )
    assert again.changed == ["event_names"]
    assert again.webhook.event_names == ["asset_added", "task_added"]
    assert again.webhook.secret == "s1" and again.webhook.callback_url == "https://a.example.com/"
    same = service.merge_webhook_by_name(
        session, org, "Sync", "https://a.example.com/", "s1", ["task_added"]
    )
    assert (same.action, same.changed) == ("none", [])
    moved = service.merge_webhook_by_name(
        session, org, "Sync", "https://b.example.com/", "", [], description="moved"
    )
    assert moved.changed == ["callback_url", "description", "secret"]
    assert (moved.webhook.callback_url, moved.webhook.secret) == ("https://b.example.com/", None)
    session.rollback()  # merges only flush: the Settings API's dry run rolls back
    assert session.scalars(select(Webhook)).all() == []


def test_merge_creates_when_several_have_the_name(session: Session, org: str) -> None:
    for url in ("https://a.example.com/", "https://b.example.com/"):
        service.create_webhook(
            session, org, name="Dup", callback_url=url, event_names=["asset_added"]
        )
    result = service.merge_webhook_by_name(
        session, org, "Dup", "https://c.example.com/", None, ["task_added"]
    )
    assert result.created
    assert len(session.scalars(select(Webhook).where(Webhook.name == "Dup")).all()) == 3
    with pytest.raises(Invalid) as caught:
        service.merge_webhook_by_name(session, org, "New", None, None, ["task_added"])
    assert "callback_url" in (caught.value.errors or {})


def test_validation_names_every_bad_field(session: Session, org: str) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_webhook(
            session,
            org,
            name="",
            callback_url="http://x.example.com/",
            event_names=["nope"],
            secret="s" * 33,
        )
    assert set(caught.value.errors or {}) == {"name", "callback_url", "event_names", "secret"}
    hook = service.create_webhook(
        session,
        org,
        name="ok",
        callback_url="https://x.example.com/",
        event_names=["asset_added", "asset_added"],
        secret="",
    )
    assert hook.event_names == ["asset_added"] and hook.secret is None


def test_events_enqueue_a_dispatch_job_in_their_transaction(session: Session, org: str) -> None:
    record(session, org, count=3)
    jobs = session.scalars(select(Job).where(Job.kind == DISPATCH)).all()
    assert len(jobs) == 1  # one per transaction, not per event
    from cmpapi.server.events.outbox import record_event

    record_event(session, "task_added", {"task": {"id": "t"}}, org_id=org)
    session.rollback()
    assert len(session.scalars(select(Job).where(Job.kind == DISPATCH)).all()) == 1


def test_fan_out_targets_active_subscribers_of_the_same_org(
    engine: Engine, session: Session, org: str
) -> None:
    other = create_organization(session, "Other").id
    wanted = add_webhook(session, org, "https://a.example.com/", name="a")
    add_webhook(session, org, "https://b.example.com/", name="b", event_names=["task_added"])
    add_webhook(session, other, "https://c.example.com/", name="c")
    off = add_webhook(session, org, "https://d.example.com/", name="d")
    service.disable_webhook(session, org, off.id)
    ids = record(session, org, count=2)
    assert fanout.fan_out(engine, 100, 3)[0] == 2
    rows = deliveries(engine)
    assert sorted((d.event_id, d.webhook_id) for d in rows) == sorted((i, wanted.id) for i in ids)
    assert all(d.status == "pending" and d.max_attempts == 3 for d in rows)
    session.expire_all()
    assert all(e.dispatched_at is not None for e in session.scalars(select(OutboxEvent)))
    assert fanout.fan_out(engine, 100, 3)[0] == 0


def test_concurrent_fan_outs_never_duplicate(engine: Engine, session: Session, org: str) -> None:
    add_webhook(session, org, "https://a.example.com/")
    ids = record(session, org, count=600)
    taken: list[int] = []

    def run() -> None:
        while (n := fanout.fan_out(engine, 50, 3)[0]) > 0:
            taken.append(n)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(taken) == 600
    rows = deliveries(engine)
    assert sorted(d.event_id for d in rows) == sorted(ids)


def test_disabling_fails_pending_deliveries(engine: Engine, session: Session, org: str) -> None:
    hook = add_webhook(session, org, "https://a.example.com/")
    record(session, org, count=2)
    fanout.fan_out(engine, 100, 3)
    service.disable_webhook(session, org, hook.id, "moving servers")
    with make_sessionmaker(engine)() as s:
        rows = s.scalars(select(Delivery)).all()
        assert {(d.status, d.last_error) for d in rows} == {("failed", "webhook disabled")}
        assert s.get(Webhook, hook.id).disabled_reason == "moving servers"  # type: ignore[union-attr]


def test_redundant_dispatch_jobs_are_dropped_not_kept(
    engine: Engine, session: Session, org: str
) -> None:
    from datetime import timedelta

    from cmpapi.server.jobs.tables import now
    from cmpapi.server.webhooks.trigger import drop_redundant, request_dispatch

    for _ in range(3):
        record(session, org)  # one job per transaction
    request_dispatch(session, "retry", run_at=now() + timedelta(hours=1))
    session.commit()
    for job in session.scalars(select(Job).where(Job.kind == DISPATCH)):
        job.run_at = (
            job.run_at - timedelta(seconds=5) if job.payload["why"] == "events" else job.run_at
        )
    session.commit()
    assert drop_redundant(engine, older_than=1.0) == 3
    [left] = session.scalars(select(Job).where(Job.kind == DISPATCH)).all()
    assert left.payload == {"why": "retry"}
    assert drop_redundant(engine, older_than=1.0) == 0
