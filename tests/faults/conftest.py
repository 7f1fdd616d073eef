"""Fault-test fixtures: a private PostgreSQL cluster (never the shared server) and the app on
a real HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine

from cmpapi.server.db import migrate
from tests.conftest import free_port
from tests.faults.pgcluster import PrivateCluster, unavailable_reason
from tests.support.world import World, build_world


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PrivateCluster]:
    """A migrated ``cmpapi`` database on a PostgreSQL cluster of this module's own."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    cluster = PrivateCluster(free_port())
    try:
        cluster.init()
        cluster.start()
        engine = create_engine(cluster.create_database("cmpapi"))
        migrate.upgrade(engine)
        engine.dispose()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def world(app: FastAPI) -> World:
    """The usual organization on this module's ``app`` (its own database or store); emails
    made unique, as a private PostgreSQL cluster lives for the whole module."""
    with app.state.sessionmaker() as session:
        return build_world(session, prefix=f"{time.monotonic_ns()}-")


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on uvicorn in a thread; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
