"""The one mapping of infrastructure failures (``http/errors.py``), fed with errors the real
drivers raise: what is a 503 (with Retry-After), a 507, and what stays a 500."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cmpapi.server.app import create_app
from cmpapi.server.http.errors import (
    DATABASE_UNAVAILABLE,
    OUT_OF_SPACE,
    STORAGE_UNAVAILABLE,
    infrastructure_failure,
)
from cmpapi.server.settings import Settings
from cmpapi.server.storage.errors import StorageFull, StorageUnavailable
from tests.support.servers import free_port


def db_error(url: str, *statements: str, **connect_args: object) -> DBAPIError:
    """The DBAPIError SQLAlchemy raises for the last statement."""
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def test_a_locked_sqlite_database_is_a_503(sqlite_url: str, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        exc = db_error(sqlite_url, "INSERT INTO t VALUES (1)", timeout=0)
    finally:
        holder.close()
    assert "locked" in str(exc)
    assert infrastructure_failure(exc) is DATABASE_UNAVAILABLE


def test_programming_errors_stay_500(sqlite_url: str) -> None:
    # sqlite3 reports a missing table as an OperationalError: still our bug, not an outage.
    assert infrastructure_failure(db_error(sqlite_url, "SELECT * FROM missing")) is None
    duplicate = db_error(
        sqlite_url,
        "CREATE TABLE u (x INTEGER PRIMARY KEY)",
        "INSERT INTO u VALUES (1)",
        "INSERT INTO u VALUES (1)",
    )
    assert infrastructure_failure(duplicate) is None


def test_an_unreachable_postgresql_is_a_503() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
    exc = db_error(url, "SELECT 1", connect_timeout=2)
    assert infrastructure_failure(exc) is DATABASE_UNAVAILABLE


def test_storage_failures() -> None:
    assert infrastructure_failure(StorageUnavailable("gone")) is STORAGE_UNAVAILABLE
    assert infrastructure_failure(StorageFull("full")) is OUT_OF_SPACE
    assert infrastructure_failure(RuntimeError("boom")) is None


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[TestClient]:
    """The real app with a route raising each kind of failure."""
    app: FastAPI = create_app(Settings(data_dir=tmp_path, worker_embedded=False))
    pg = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"

    @app.get("/probe/{kind}")
    def fail(kind: str) -> None:
        if kind == "storage":
            raise StorageUnavailable("connection refused to 10.0.0.7")
        if kind == "full":
            raise StorageFull("No space left on device (os error 28)")
        raise db_error(pg, "SELECT 1", connect_timeout=2)

    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("kind", "status", "message", "retry_after"),
    [
        ("database", 503, "The service is temporarily unavailable, please retry", "2"),
        ("storage", 503, "File storage is temporarily unavailable, please retry", "5"),
        ("full", 507, "The server has no storage space left for this request", None),
    ],
)
def test_failures_render_in_the_cmp_shape(
    probe: TestClient,
    kind: str,
    status: int,
    message: str,
    retry_after: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = probe.get(f"/probe/{kind}")
    assert (r.status_code, r.json()) == (status, {"message": message})
    assert r.headers.get("retry-after") == retry_after
    assert r.headers["content-type"] == "application/json"
    # The cause is logged for the operator, never sent to the client.
    logged = [rec for rec in caplog.records if rec.levelname == "WARNING"]
    assert any(f"/probe/{kind}" in rec.message for rec in logged)
