"""``/livez``, ``/healthz`` and ``/readyz`` on real parts: a ready server, an un-migrated
SQLite file, a PostgreSQL port nobody listens on, an S3 endpoint that does not answer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from tests.support.servers import free_port


def readyz(settings: Settings) -> tuple[int, dict[str, object]]:
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            r = client.get("/readyz")
            assert r.headers["cache-control"] == "no-store"
            return r.status_code, r.json()
    finally:
        app.state.engine.dispose()


def test_livez_and_healthz_answer_while_the_process_serves(raw_client: TestClient) -> None:
    for path in ("/livez", "/healthz"):
        r = raw_client.get(path)
        assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_readyz_when_database_schema_and_store_answer(raw_client: TestClient) -> None:
    r = raw_client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "storage": "ok"},
    }


def test_readyz_on_an_unmigrated_database_names_the_migrations(tmp_path: Path) -> None:
    status, body = readyz(Settings(data_dir=tmp_path, worker_embedded=False))
    assert status == 503
    assert body["status"] == "unavailable"
    assert str(body["reason"]).startswith("migrations: not at head (at none, head ")
    assert body["checks"] == {
        "database": "ok",
        "migrations": body["reason"].removeprefix("migrations: "),  # type: ignore[union-attr]
        "storage": "ok",
    }


def test_readyz_with_the_database_away_names_the_database(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://cmpapi:pw-S3CR3T@127.0.0.1:{free_port()}/cmpapi"
    status, body = readyz(Settings(data_dir=tmp_path, database_url=url, worker_embedded=False))
    assert status == 503
    assert str(body["reason"]).startswith("database: unreachable (OperationalError")
    assert body["checks"]["migrations"] == "unknown"  # type: ignore[index]
    assert "S3CR3T" not in str(body)


def test_readyz_with_the_object_store_away_names_the_storage(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        worker_embedded=False,
        storage_backend="s3",
        s3_bucket="cmpapi",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id="AKIDOBS",
        s3_secret_access_key="S3CR3T-key",  # type: ignore[arg-type]
    )
    status, body = readyz(settings)
    assert status == 503
    assert str(body["reason"]).startswith("storage: unreachable")
    assert body["checks"]["database"] == "ok"  # type: ignore[index]
    assert "S3CR3T" not in str(body)


def test_operations_endpoints_are_not_cmp_operations(raw_client: TestClient) -> None:
    paths = raw_client.get("/v3/openapi.json").json()["paths"]
    assert not {"/livez", "/readyz", "/healthz", "/metrics"} & set(paths)
