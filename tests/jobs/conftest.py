"""Fixtures for the job queue tests: fast settings, the runs table, a worker driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.jobs.registry import REGISTRY
from cmpapi.server.jobs.tables import Job
from cmpapi.server.settings import Settings
from tests.jobs.handlers import RUNS


@pytest.fixture
def job_settings(database_url: str, tmp_path: Path) -> Settings:
    """Compressed timings so retries, leases and polls take milliseconds."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        worker_embedded=False,
        worker_poll_interval=0.05,
        worker_lease_seconds=5,
        worker_retry_schedule="0.05",
        worker_shutdown_timeout=2,
        worker_processes=1,
    )


@pytest.fixture
def engine(job_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(job_settings)
    RUNS.create(engine, checkfirst=True)
    yield engine
    # The PostgreSQL test database is shared by the session: leave no foreign table behind
    # (the migrations test compares every table with the models).
    RUNS.drop(engine, checkfirst=True)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as s:
        yield s


def runs(engine: Engine) -> list[Any]:
    """Every recorded run, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(RUNS).order_by(RUNS.c.started)))


def jobs(engine: Engine) -> list[Job]:
    """Every job row but the project's periodic upkeep (``library.compact_counts``...),
    which a worker enqueues by itself as soon as it starts."""
    upkeep = [s.kind for s in REGISTRY.values() if s.every and not s.kind.startswith("test.")]
    with make_sessionmaker(engine)() as s:
        stmt = select(Job).where(Job.kind.not_in(upkeep)).order_by(Job.created_at)
        return list(s.scalars(stmt))
