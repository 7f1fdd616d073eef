"""Fault-test fixtures: a private PostgreSQL cluster (never the shared server) and the app on
a real HTTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from cmpapi.server.db import migrate
from tests.faults.pgcluster import PrivateCluster, unavailable_reason
from tests.support.servers import free_port
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
