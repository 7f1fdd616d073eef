"""Live servers for the fuzzer, on SQLite and PostgreSQL, over a seeded snapshot.

Each test worker seeds one organization per backend (``seed.seed``) on a server with the
job worker on (so renditions exist), stops it and keeps the result as a snapshot: the data
directory (SQLite file and stored objects) and, on PostgreSQL, a template database.

* Read-only operations (``GET``) share one server per backend on a copy of the snapshot:
  nothing they do changes it.
* Every other operation gets its own copy and server, so what one operation's examples
  change (a task completed, a field deactivated, an asset deleted) never leaks into another
  operation's test, whatever order pytest-xdist runs them in. On PostgreSQL that copy is
  one scratch database per worker, emptied and refilled with the snapshot's rows before
  each test: creating and dropping a database per test costs about a second each.

Servers run without the job worker: the fuzzer tests request handling, and background
jobs would only make the runs less reproducible.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, Table, create_engine, select, text

from cmpapi.server.app import create_app
from cmpapi.server.db import migrate
from cmpapi.server.db.tables import Base
from cmpapi.server.settings import Settings
from tests.conftest import PG_AVAILABLE, PG_URL
from tests.fuzz.seed import Seed, seed
from tests.support.servers import start_in_thread


class CrashLog(logging.Handler):
    """Keeps the tracebacks the servers log, so a 5xx failure can show its cause."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0  # records seen so far
        self.records: deque[tuple[int, str]] = deque(maxlen=20)

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1
            formatted = "".join(traceback.format_exception(*record.exc_info))
            self.records.append((self.count, f"[{record.name}] {record.getMessage()}\n{formatted}"))

    def since(self, mark: int) -> list[str]:
        """Tracebacks logged after ``count`` was ``mark``."""
        return [text for n, text in self.records if n > mark]


CRASHES = CrashLog()
for _name in ("cmpapi.errors", "uvicorn.error"):
    logging.getLogger(_name).addHandler(CRASHES)


@dataclass
class Snapshot:
    backend: str
    data_dir: Path
    database: str | None  # PostgreSQL: the template database's name
    seed: Seed
    rows: list[tuple[Table, list[dict[str, Any]]]] = field(default_factory=list)  # PostgreSQL
    copies: list[str] = field(default_factory=list)  # PostgreSQL databases made from it


@dataclass
class Target:
    """A running server to fuzz."""

    backend: str
    base_url: str  # ends with /v3, the spec's server path
    seed: Seed
    http: httpx.Client  # for victims of destructive operations


STOPPING: list[threading.Thread] = []  # servers being stopped in the background


def _stop(server: uvicorn.Server, thread: threading.Thread, app: FastAPI) -> None:
    server.should_exit = True
    thread.join(timeout=15)
    app.state.engine.dispose()


def _stopped() -> None:
    """Wait for the servers stopping in the background."""
    while STOPPING:
        STOPPING.pop().join(timeout=20)


@contextmanager
def serve(settings: Settings, *, wait: bool = True) -> Iterator[tuple[str, FastAPI]]:
    """The app on a real uvicorn server in a thread (as tests/conftest.py's live_server).

    With ``wait=False`` the server is stopped in the background (its shutdown takes a few
    tenths of a second); only use it when nothing needs the server gone.
    """
    app = create_app(settings)
    base, server, thread = start_in_thread(app)
    try:
        yield base, app
    finally:
        if wait:
            _stop(server, thread, app)
        else:
            stopping = threading.Thread(target=_stop, args=(server, thread, app), daemon=True)
            stopping.start()
            STOPPING.append(stopping)


def _admin() -> Engine:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop(*names: str) -> None:
    admin = _admin()
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _create(name: str, template: str | None = None) -> str:
    admin = _admin()
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    admin.dispose()
    return _pg_url(name)


def backends() -> list[str]:
    """The backends to fuzz: ``$CMPAPI_FUZZ_BACKENDS`` (comma-separated) or both, PostgreSQL
    when it answers."""
    chosen = os.environ.get("CMPAPI_FUZZ_BACKENDS", "sqlite,postgres").split(",")
    unknown = set(chosen) - {"sqlite", "postgres"}
    if unknown:
        raise ValueError(f"CMPAPI_FUZZ_BACKENDS: unknown backends {sorted(unknown)}")
    return [b for b in chosen if b == "sqlite" or PG_AVAILABLE]


class Snapshots:
    """The seeded snapshot of each backend and its shared read-only server, made on first
    use in this worker."""

    def __init__(
        self, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, worker_id: str
    ) -> None:
        self.tmp = tmp_path_factory
        self.sqlite_template = sqlite_template
        self.worker_id = worker_id
        self.made: dict[str, Snapshot] = {}
        self.readers: dict[str, Target] = {}
        self.stack = ExitStack()

    def __getitem__(self, backend: str) -> Snapshot:
        if backend not in self.made:
            self.made[backend] = self._make(backend)
        return self.made[backend]

    def _make(self, backend: str) -> Snapshot:
        data_dir = self.tmp.mktemp(f"fuzz-{backend}-seed")
        database = None
        if backend == "sqlite":
            shutil.copy(self.sqlite_template, data_dir / "cmpapi.db")
            url = f"sqlite:///{data_dir / 'cmpapi.db'}"
        else:
            database = f"cmpapi_fuzz_{self.worker_id}_{os.getpid()}"
            url = _create(database)
            engine = create_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        settings = Settings(data_dir=data_dir, database_url=url, worker_embedded=True)
        with (
            serve(settings) as (base_url, app),
            httpx.Client(base_url=base_url, timeout=30) as http,
        ):
            seeded = seed(app, http)
        snapshot = Snapshot(backend, data_dir, database, seeded)
        if database is not None:
            snapshot.rows = _capture(url)
        return snapshot

    def scratch(self, backend: str) -> AbstractContextManager[Target]:
        """A server of one test on its own copy of the backend's snapshot."""
        return serve_copy(self[backend], self.tmp.mktemp(f"fuzz-{backend}"), scratch=True)

    def reader(self, backend: str) -> Target:
        """The one server per backend that the read-only operations share."""
        if backend not in self.readers:
            where = self.tmp.mktemp(f"fuzz-{backend}")
            target = serve_copy(self[backend], where, scratch=False)
            self.readers[backend] = self.stack.enter_context(target)
        return self.readers[backend]

    def close(self) -> None:
        self.stack.close()
        _stopped()
        databases = [
            name
            for snapshot in self.made.values()
            if snapshot.database is not None
            for name in (*snapshot.copies, snapshot.database)
        ]
        if databases:
            _drop(*databases)


@pytest.fixture(scope="session")
def fuzz_snapshots(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, worker_id: str
) -> Iterator[Snapshots]:
    snapshots = Snapshots(tmp_path_factory, sqlite_template, worker_id)
    yield snapshots
    snapshots.close()


def _capture(url: str) -> list[tuple[Table, list[dict[str, Any]]]]:
    """Every row of a database, table by table in dependency order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [
            (table, [dict(row._mapping) for row in conn.execute(select(table))])
            for table in Base.metadata.sorted_tables
        ]
    engine.dispose()
    return rows


def _refill(url: str, rows: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Empty a database made from the snapshot and put the snapshot's rows back.

    ``DELETE`` rather than ``TRUNCATE``: the tables are small, and truncating 48 tables
    replaces 48 sets of files.
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, _ in reversed(rows):
            conn.execute(table.delete())
        for table, items in rows:
            if items:
                conn.execute(table.insert(), items)
    engine.dispose()


def _database(snapshot: Snapshot, scratch: bool) -> str:
    """A PostgreSQL database holding the snapshot: a new copy, or the refilled scratch one."""
    assert snapshot.database is not None
    if not scratch:
        name = f"{snapshot.database}_{len(snapshot.copies)}"
        snapshot.copies.append(name)
        return _create(name, template=snapshot.database)
    name = f"{snapshot.database}_scratch"
    if name not in snapshot.copies:
        snapshot.copies.append(name)
        return _create(name, template=snapshot.database)
    url = _pg_url(name)
    _stopped()  # the previous test's server may still hold a transaction
    _refill(url, snapshot.rows)
    return url


@contextmanager
def serve_copy(snapshot: Snapshot, where: Path, *, scratch: bool) -> Iterator[Target]:
    """A server on a private copy of the snapshot (data directory; PostgreSQL database).

    ``scratch``: one test's server, stopped in the background; on PostgreSQL its database
    is the scratch one, which only one test at a time uses.
    """
    data_dir = where / "data"
    shutil.copytree(snapshot.data_dir, data_dir)
    if snapshot.database is None:
        url = f"sqlite:///{data_dir / 'cmpapi.db'}"
    else:
        url = _database(snapshot, scratch)
    settings = Settings(data_dir=data_dir, database_url=url, worker_embedded=False)
    wait = not scratch
    with (
        serve(settings, wait=wait) as (base_url, _),
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Target(snapshot.backend, base_url + "/v3", snapshot.seed, http)


@pytest.fixture
def fuzz_targets(
    request: pytest.FixtureRequest, fuzz_snapshots: Snapshots
) -> Iterator[list[Target]]:
    """The servers a fuzz test sends each example to, one per backend (see the module
    docstring): each example is generated once and sent to every backend."""
    label = getattr(request.node, "operation_label", None) or ""
    if label.startswith("GET "):
        yield [fuzz_snapshots.reader(backend) for backend in backends()]
        return
    with ExitStack() as stack:
        yield [stack.enter_context(fuzz_snapshots.scratch(backend)) for backend in backends()]
