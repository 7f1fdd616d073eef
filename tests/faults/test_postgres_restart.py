"""PostgreSQL restarted under the API: requests fail fast with the CMP 503 (and Retry-After),
the server recovers by itself, and no acknowledged write is lost.

The database is a private cluster this module starts (``pg_cluster``); restarting it never
touches the shared server. ``scripts/faults_postgres_restart.py`` is the longer version.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from tests.faults.load import (
    WriteLoad,
    is_cmp_503,
    lost_writes,
    send,
    stored_count,
    summary,
)
from tests.faults.pgcluster import PrivateCluster
from tests.support.servers import serving
from tests.support.world import World


@pytest.fixture
def app(pg_cluster: PrivateCluster, tmp_path: Path) -> Iterator[FastAPI]:
    settings = Settings(
        data_dir=tmp_path, database_url=pg_cluster.url("cmpapi"), worker_embedded=False
    )
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def test_restart_under_load_loses_no_acknowledged_write(
    app: FastAPI, world: World, pg_cluster: PrivateCluster
) -> None:
    url = pg_cluster.url("cmpapi")
    before = stored_count(url)
    with serving(app) as base:
        load = WriteLoad(base, world.auth("member"), threads=6, timeout=20)
        load.start()
        time.sleep(1.0)
        fault_at = time.monotonic()
        pg_cluster.restart("immediate")  # a crash: recovery replays the WAL
        back_at = time.monotonic()
        time.sleep(2.0)
        replies = load.stop()
    result = summary(replies, fault_at, back_at)
    print(result)  # shown with -s, and on failure

    assert result["no_answer"] == []
    assert result["other_errors"] == []
    assert result["bad_503"] == []
    assert result["statuses"].get(503, 0) > 0  # the fault was seen...
    assert result["statuses"].get(201, 0) > 0
    assert result["max_latency_s"] < 6  # ...and failed fast
    # Recovered by itself: writes succeed soon after PostgreSQL is back, and keep doing so.
    assert result["first_201_after_back_s"] is not None
    assert result["first_201_after_back_s"] < 3
    assert result["last_failure_after_back_s"] is None or result["last_failure_after_back_s"] < 3
    # Every 201 is in the database after the crash. Some 503s may have committed too (the
    # connection died between COMMIT and its answer): never fewer rows than 201s.
    assert lost_writes(url, replies) == []
    assert stored_count(url) - before >= result["statuses"][201]


def test_first_request_after_an_idle_restart_succeeds(
    app: FastAPI, world: World, pg_cluster: PrivateCluster
) -> None:
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        # Fill the pool with several connections, all of which the restart kills.
        threads = [
            threading.Thread(target=send, args=(client, world.auth(), f"warm-{n}"))
            for n in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for mode in ("immediate", "fast"):
            pg_cluster.restart(mode)
            reply = send(client, world.auth(), f"after-{mode}")
            assert reply.status == 201, reply

        # Down (connections refused): 503 at once, in the CMP shape; back: 201.
        pg_cluster.stop("fast")
        try:
            down = send(client, world.auth(), "while-down")
            assert is_cmp_503(down), down
            assert down.seconds < 2
            assert down.body == {"message": "The service is temporarily unavailable, please retry"}
        finally:
            pg_cluster.start()
        assert send(client, world.auth(), "back-up").status == 201


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung database host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(
    tmp_path: Path, silent_port: int
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/cmpapi"
    application = create_app(Settings(data_dir=tmp_path, database_url=url, worker_embedded=False))
    try:
        with serving(application) as base, httpx.Client(base_url=base, timeout=30) as client:
            reply = send(client, {"Authorization": "Bearer x"}, "hung")
    finally:
        application.state.engine.dispose()
    assert is_cmp_503(reply), reply
    assert 4 <= reply.seconds < 8  # connect_timeout=5 (db/engine.py), not the OS's minutes
