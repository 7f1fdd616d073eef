"""Shared fixtures: one database fixture over SQLite and PostgreSQL, the app, a client that
validates every /v3 response against the official spec, a live HTTP server, a seeded world.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import typer.main
import typer.testing
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cmpapi.server.app import create_app
from cmpapi.server.db import migrate
from cmpapi.server.db.tables import Base
from cmpapi.server.identity import passwords
from cmpapi.server.settings import Settings
from tests.contract.spec import SPEC_AVAILABLE, check_httpx_response
from tests.support.servers import serving
from tests.support.world import World, stamped_world

# Password hashes at argon2's smallest cost: OWASP's (the default) spent ~79 % of each test
# world's set-up in three hashes. Every Settings() of the tests reads it, and so do the
# server and worker processes they start; hashes made at one cost verify at any other.
os.environ.setdefault("CMPAPI_PASSWORD_HASH_MEMORY_KIB", "8")
os.environ.setdefault("CMPAPI_PASSWORD_HASH_TIME_COST", "1")
passwords.configure(memory_kib=8, time_cost=1)
# Every answer built from plain data is validated against its wire model, and its JSON
# checked to be the model's (http/responses.py): production skips it.
os.environ.setdefault("CMPAPI_CHECK_RESPONSES", "true")
# Tests press Ctrl-C (SIGINT) in the processes they start. A suite started in the
# background by a non-interactive shell inherits SIGINT ignored, and so would every child
# (Python then installs no KeyboardInterrupt handler): the uploads and `cmpapi listen`
# ran on through their Ctrl-C. A handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# typer's CliRunner builds the click command tree of the app it is given at every invoke
# (~50 ms for cmpapi's, more than most commands take); a process of the installed CLI
# builds it once. Tests invoking commands in-process reuse the first one built per app.
typer.testing._get_command = functools.cache(typer.main.get_command)  # type: ignore[attr-defined]

PG_URL = os.environ.get(
    "CMPAPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_reachable() -> bool:
    try:
        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG_AVAILABLE = _pg_reachable()
if os.environ.get("CI") and not PG_AVAILABLE:
    raise RuntimeError(f"CI must test PostgreSQL, but {PG_URL} does not answer")


# Where single tests take tens of seconds (processes started and killed, the fuzzer's
# slowest operations), longest first, from a `--durations=0` run (docs/development.md,
# "Suite time"). They run first: pytest-xdist hands tests out in collection order, and one
# of them started last kept one worker busy for a minute after the other had finished.
# Within a file the order stays as written; a file missing from the list runs after them.
SLOW_FIRST = (
    "tests/fuzz/test_schemathesis.py::test_operation[POST /settings]",
    "tests/cli/test_remote_commands.py",
    "tests/cli/test_admin_commands.py",
    "tests/webhooks/test_event_stream_processes.py",
    "tests/cli/test_serve_processes.py",
    "tests/cli/test_cli_errors.py",
    "tests/cli/test_backup.py",
    "tests/cli/test_serve_metrics.py",
    "tests/cli/test_serve_workers.py",
    "tests/structured_content/test_managed_job.py",
    "tests/webhooks/test_processes.py",
    "tests/jobs/test_cli.py",
    "tests/fuzz/test_schemathesis.py",
    "tests/client/test_every_operation.py",
    "tests/cli/test_serve.py",
    "tests/cli/test_serve_demo.py",
    "tests/client/test_webhook_deliveries.py",
    "tests/examples/test_examples.py",
    "tests/server/test_links.py",
    "tests/client/test_uploads.py",
    "tests/server/test_conventions.py",
    "tests/server/test_migrations.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (``SLOW_FIRST``); the same order on every xdist worker."""

    def rank(item: pytest.Item) -> int:
        for n, prefix in enumerate(SLOW_FIRST):
            if item.nodeid == prefix or item.nodeid.startswith(prefix + "::"):
                return n
        return len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slow)."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    engine = create_engine(f"sqlite:///{data_dir / 'cmpapi.db'}")
    migrate.upgrade(engine)
    # Copies start in WAL mode, as a served database is: no test's first connections race
    # to switch the journal mode.
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    return data_dir / "cmpapi.db"


_RESETTERS: dict[str, Engine] = {}  # database URL -> the engine that empties it (empty_postgres)


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database of this test worker, migrated once; dropped at the end."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL not reachable")
    name = f"cmpapi_test_{worker_id}_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    resetter = _RESETTERS.pop(url, None)
    if resetter is not None:
        resetter.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Children before parents, in one script: one round trip, one commit.
_EMPTY_ALL = "; ".join(
    str(table.delete().compile(dialect=postgresql.dialect()))
    for table in reversed(Base.metadata.sorted_tables)
)


def empty_postgres(url: str) -> None:
    """Delete every row of a migrated PostgreSQL database (the Alembic version stays).

    ``DELETE`` rather than ``TRUNCATE``: a test leaves a few rows, and truncating the 66
    tables makes new files for each table and index at every commit. On the 2-core box it
    took 0.9-1.6 s per test (a third of the suite's time); the deletes take 0.08-0.25 s.
    The engine (one idle connection) is kept for the session: a new engine's connect and
    dialect set-up took 40-90 ms of each reset, the deletes themselves 4-15 ms.
    """
    engine = _RESETTERS.get(url)
    if engine is None:
        engine = _RESETTERS[url] = create_engine(url, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.exec_driver_sql(_EMPTY_ALL)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "cmpapi.db")
        return f"sqlite:///{tmp_path / 'cmpapi.db'}"
    url: str = request.getfixturevalue("pg_database")
    empty_postgres(url)
    return url


_FROM_ENV: dict[tuple[tuple[str, str], ...], Settings] = {}


def from_env() -> Settings:
    """``Settings()`` read from this process's CMPAPI_* variables, once per set of them:
    pydantic-settings spent ~10 ms reading the environment for each test's app."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CMPAPI_")))
    if key not in _FROM_ENV:
        _FROM_ENV[key] = Settings()
    return _FROM_ENV[key]


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    # The embedded job worker runs only for tests marked `worker`: elsewhere it would only
    # add writers (its periodic jobs) to every test's database.
    worker = request.node.get_closest_marker("worker") is not None
    values = {"data_dir": tmp_path, "database_url": database_url, "worker_embedded": worker}
    return from_env().model_copy(update=values)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


class ContractClient(TestClient):
    """A TestClient that checks every /v3 response against the official spec."""

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        if SPEC_AVAILABLE:
            check_httpx_response(response)
        return response


@pytest.fixture
def client(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def raw_client(app: FastAPI) -> Iterator[TestClient]:
    """A client without contract checks, for requests outside the spec (unknown routes)."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    with app.state.sessionmaker() as session:
        yield session


@pytest.fixture
def world(db: Session) -> World:
    return stamped_world(db)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn HTTP server in a thread; yields its base URL."""
    with serving(app) as base:
        yield base


@pytest.fixture
def http(live_server: str) -> Iterator[httpx.Client]:
    """An httpx client against the live server, validating /v3 responses."""

    def hook(response: httpx.Response) -> None:
        response.read()
        if SPEC_AVAILABLE:
            check_httpx_response(response)

    # httpx's default 5 s read timeout failed one request of a loaded 2-core CI run; a slow
    # answer is not what these tests check (no test asserts a time).
    with httpx.Client(base_url=live_server, event_hooks={"response": [hook]}, timeout=30) as c:
        yield c
