"""Per-organization rate limiting (CMPAPI_RATE_LIMIT): the bucket, and 429s over HTTP that
leave nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.errors import RateLimited
from cmpapi.server.http.ratelimit import MAX_BUCKETS, RateLimiter
from cmpapi.server.resources.library.tables import Folder
from cmpapi.server.settings import Settings
from tests.conftest import ContractClient
from tests.support.world import World, build_world


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(limiter: RateLimiter, key: str) -> int | None:
    """The Retry-After of a refusal, or None when the request may go on."""
    try:
        limiter.take(key)
    except RateLimited as exc:
        return exc.retry_after
    return None


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    assert [refused(limiter, "org") for _ in range(10)] == [None] * 10
    assert refused(limiter, "org") == 1
    assert refused(limiter, "other") is None  # buckets are per organization
    clock.now += 0.1  # one request's worth refilled
    assert refused(limiter, "org") is None
    assert refused(limiter, "org") == 1
    clock.now += 60  # a full bucket again, never more than the burst
    assert [refused(limiter, "org") for _ in range(11)] == [None] * 10 + [1]


def test_slow_rates_ask_to_wait_longer() -> None:
    clock = Clock()
    limiter = RateLimiter(0.25, clock=clock)  # one request every 4 s
    assert refused(limiter, "org") is None
    assert refused(limiter, "org") == 4
    clock.now += 3
    assert refused(limiter, "org") == 1


def test_full_buckets_are_forgotten_when_there_are_too_many() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock=clock)
    for i in range(MAX_BUCKETS):
        limiter.take(f"org{i}")
    clock.now += 5
    limiter.take("busy")
    limiter.take("one more")  # over the cap: every refilled bucket is dropped
    assert len(limiter._buckets) <= 2


# -- over HTTP -----------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=database_url, worker_embedded=False, rate_limit=2
    )


def test_over_the_limit_is_429_with_retry_after_and_nothing_done(
    client: ContractClient, world: World, db: Session
) -> None:
    folders = select(func.count()).select_from(Folder)
    before = db.scalar(folders)
    for i in range(2):
        r = client.post("/v3/folders", json={"name": f"f{i}"}, headers=world.auth())
        assert r.status_code == 201, r.text
    r = client.post("/v3/folders", json={"name": "refused"}, headers=world.auth())
    assert r.status_code == 429
    assert r.json() == {"message": "Too many requests for this organization"}
    assert r.headers["retry-after"] == "1"
    db.expire_all()
    assert db.scalar(folders) == before + 2  # the refused create wrote nothing
    # Another organization has its own budget; a bad token is 401, not counted.
    other = build_world(db, org_name="Other", prefix="other-")
    assert client.get("/v3/userlist", headers=other.auth()).status_code == 200
    bad = client.get("/v3/userlist", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_off_by_default() -> None:
    assert Settings.model_construct().rate_limit == 0
    assert Settings(demo=True).rate_limit == 0
