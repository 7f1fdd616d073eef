"""The worker embedded in the app's lifespan (what `cmpapi serve` runs), on and off."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cmpapi.server.app import create_app
from cmpapi.server.jobs import enqueue
from cmpapi.server.settings import Settings
from tests.jobs.conftest import jobs


def _enqueue_and_wait(settings: Settings, engine: Engine, seconds: float) -> str:
    app = create_app(settings)
    try:
        with TestClient(app):
            with app.state.sessionmaker() as session:
                enqueue(session, "test.record_async", {})
                session.commit()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and jobs(engine)[0].status == "queued":
                time.sleep(0.02)
            while time.monotonic() < deadline and jobs(engine)[0].status == "running":
                time.sleep(0.02)
    finally:
        app.state.engine.dispose()
    return jobs(engine)[0].status


def test_serve_runs_jobs_when_the_worker_is_embedded(
    job_settings: Settings, engine: Engine
) -> None:
    settings = job_settings.model_copy(update={"worker_embedded": True})
    assert _enqueue_and_wait(settings, engine, 10) == "succeeded"


def test_the_embedded_worker_can_be_turned_off(job_settings: Settings, engine: Engine) -> None:
    assert not job_settings.worker_embedded
    assert _enqueue_and_wait(job_settings, engine, 0.3) == "queued"
