"""enqueue, claims, leases and outcomes at the database level, on both backends."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cmpapi.server.jobs import cancel, enqueue
from cmpapi.server.jobs import queue as q
from cmpapi.server.jobs.claim import claim, share_slots
from cmpapi.server.jobs.tables import JOBS, Job, now
from tests.jobs.conftest import jobs


def test_enqueue_commits_with_the_caller(session: Session, engine: Engine) -> None:
    job = enqueue(session, "test.record", {"n": 1}, org_id="org1")
    session.commit()
    [row] = jobs(engine)
    assert (row.id, row.kind, row.payload, row.org_id) == (job.id, "test.record", {"n": 1}, "org1")
    assert (row.status, row.attempts, row.max_attempts) == ("queued", 0, q.DEFAULT_MAX_ATTEMPTS)
    assert row.run_at <= now() and row.lease_until is None and row.locked_by is None


def test_enqueue_rolls_back_with_the_caller(session: Session, engine: Engine) -> None:
    enqueue(session, "test.record", {})
    enqueue(session, "test.record", {}, dedupe_key="k")
    session.rollback()
    assert jobs(engine) == []


def test_dedupe_key_makes_a_second_enqueue_a_no_op(session: Session, engine: Engine) -> None:
    first = enqueue(session, "test.record", {"v": 1}, dedupe_key="asset-1:v2")
    session.commit()
    again = enqueue(session, "test.record", {"v": 2}, dedupe_key="asset-1:v2")
    other_kind = enqueue(session, "test.record_async", {}, dedupe_key="asset-1:v2")
    session.commit()
    assert again.id == first.id and again.payload == {"v": 1}
    assert other_kind.id != first.id
    assert len(jobs(engine)) == 2


def test_dedupe_inside_one_transaction(session: Session, engine: Engine) -> None:
    a = enqueue(session, "test.record", {}, dedupe_key="same")
    b = enqueue(session, "test.record", {}, dedupe_key="same")
    session.commit()
    assert a.id == b.id and len(jobs(engine)) == 1


def test_cancel_only_queued_jobs(session: Session, engine: Engine) -> None:
    queued = enqueue(session, "test.record", {})
    running = enqueue(session, "test.record_async", {})
    session.commit()
    claim(engine, "w1", {"test.record_async": 1}, 30)
    assert cancel(session, queued.id) and not cancel(session, running.id)
    session.commit()
    assert {j.id: j.status for j in jobs(engine)} == {queued.id: "cancelled", running.id: "running"}


def test_claim_takes_due_jobs_and_leases_them(session: Session, engine: Engine) -> None:
    due = enqueue(session, "test.record", {"a": 1})
    enqueue(session, "test.record", {}, run_at=now() + timedelta(hours=1))
    enqueue(session, "test.record_async", {})
    session.commit()
    assert q.due_kinds(engine, ["test.record", "test.record_async", "nope"], now()) == [
        "test.record",
        "test.record_async",
    ]
    [job] = claim(engine, "w1", {"test.record": 5}, 30)
    assert (job.id, job.payload, job.attempts) == (due.id, {"a": 1}, 1)
    session.expire_all()
    row = session.get(Job, due.id)
    assert row is not None and (row.status, row.locked_by) == ("running", "w1")
    assert row.lease_until is not None and row.lease_until > now() + timedelta(seconds=25)
    assert claim(engine, "w2", {"test.record": 5}, 30) == []


def test_expired_lease_is_reaped_and_a_stolen_lease_cannot_overwrite(
    session: Session, engine: Engine
) -> None:
    job = enqueue(session, "test.record", {})
    session.commit()
    claim(engine, "dead", {"test.record": 1}, 0.01)
    time.sleep(0.05)
    assert q.reap(engine) == 1
    [taken] = claim(engine, "alive", {"test.record": 1}, 30)
    assert (taken.id, taken.attempts) == (job.id, 2)
    # The first worker wakes up: none of its writes may touch the new owner's job.
    assert not q.complete(engine, job.id, "dead")
    assert not q.fail(engine, job.id, "dead", "late")
    assert not q.reschedule(engine, job.id, "dead", 0, "late")
    assert q.extend_leases(engine, "dead", [job.id], 30) == set()
    assert q.release(engine, "dead", [job.id]) == 0
    assert q.complete(engine, job.id, "alive")
    [row] = jobs(engine)
    assert (row.status, row.locked_by, row.finished_at is not None) == ("succeeded", "alive", True)


def test_reap_fails_a_job_that_was_on_its_last_attempt(session: Session, engine: Engine) -> None:
    enqueue(session, "test.record", {}, max_attempts=1)
    session.commit()
    claim(engine, "dead", {"test.record": 1}, 0.01)
    time.sleep(0.05)
    assert q.reap(engine) == 1
    [row] = jobs(engine)
    assert row.status == "failed" and "lease expired" in (row.last_error or "")


def test_release_requeues_without_counting_the_attempt(session: Session, engine: Engine) -> None:
    enqueue(session, "test.record", {})
    session.commit()
    [job] = claim(engine, "w1", {"test.record": 1}, 30)
    assert q.release(engine, "w1", [job.id]) == 1
    [row] = jobs(engine)
    assert (row.status, row.attempts, row.locked_by, row.lease_until) == ("queued", 0, None, None)


def test_claim_is_fair_between_organizations(session: Session, engine: Engine) -> None:
    for i in range(20):
        enqueue(session, "test.record", {"i": i}, org_id="big")
    session.commit()
    late = [enqueue(session, "test.record", {}, org_id=org) for org in ("small1", "small2")]
    session.commit()
    first = claim(engine, "w1", {"test.record": 3}, 30)
    assert sorted(j.org_id or "" for j in first) == ["big", "small1", "small2"]
    assert {j.id for j in first} >= {j.id for j in late}


def test_share_slots_splits_free_slots_between_kinds() -> None:
    room = {"a": 8, "b": 8, "c": 1}
    assert share_slots(["a", "b", "c"], room, 8) == {"a": 4, "b": 3, "c": 1}
    assert share_slots(["b", "a"], room, 3) == {"b": 2, "a": 1}
    assert share_slots(["c"], room, 8) == {"c": 1}
    assert share_slots([], room, 8) == {}


def test_prune_deletes_old_finished_jobs(session: Session, engine: Engine) -> None:
    old, recent, queued = (enqueue(session, "test.record", {}) for _ in range(3))
    session.commit()
    with engine.begin() as conn:
        conn.execute(
            update(JOBS)
            .where(JOBS.c.id == old.id)
            .values(status="succeeded", finished_at=now() - timedelta(days=8))
        )
        conn.execute(
            update(JOBS).where(JOBS.c.id == recent.id).values(status="failed", finished_at=now())
        )
    assert q.prune(engine, now() - timedelta(days=7)) == 1
    assert {j.id for j in jobs(engine)} == {recent.id, queued.id}


@pytest.mark.parametrize("bad", [0, -1])
def test_max_attempts_must_be_positive(session: Session, bad: int) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        enqueue(session, "test.record", {}, max_attempts=bad)


def test_counts(session: Session) -> None:
    enqueue(session, "test.record", {})
    enqueue(session, "test.record", {})
    session.commit()
    assert q.counts(session) == {("test.record", "queued"): 2}
    assert session.scalars(select(Job.kind)).all() == ["test.record"] * 2
