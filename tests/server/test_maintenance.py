"""Periodic upkeep: the embedded worker refreshes SQLite's planner statistics."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from cmpapi.server.db.maintenance import schedule_analyze
from cmpapi.server.jobs.tables import Job

pytestmark = pytest.mark.worker


def test_analyze_refreshes_planner_statistics(app: FastAPI) -> None:
    engine = app.state.engine
    schedule_analyze(engine)  # as `cmpapi serve` does after migrating
    with TestClient(app):  # the lifespan starts the embedded worker
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and status != "succeeded":
            with engine.connect() as conn:
                status = conn.scalar(select(Job.status).where(Job.kind == "db.analyze"))
            time.sleep(0.05)
    assert status == "succeeded"
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            tables = conn.scalars(text("SELECT tbl FROM sqlite_stat1")).all()
        assert "jobs" in tables  # ANALYZE wrote statistics (empty tables get none)
