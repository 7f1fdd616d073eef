"""Engine and session factory for SQLite (default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.db.runner import past_deadline
from cmpapi.server.db.session import UnitSession
from cmpapi.server.settings import Settings

# libpq connection options for PostgreSQL, unless the URL sets them (docs/durability.md):
# a connect attempt to a database that is away gives up after 5 s (the request answers 503)
# instead of waiting for the OS's TCP timeout (minutes), and TCP keepalives notice a
# server that vanished without closing its connections within about a minute.
PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # The busy timeout first: the statements below may wait for another connection.
    cur.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers run beside the single writer. The mode persists in the file, so it
    # is switched only once: switching needs a lock that a busy database refuses at once
    # ("database is locked", seen under load in CI) instead of waiting for it.
    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    # FULL, not NORMAL: with WAL, NORMAL syncs only at checkpoints, so a power loss (or OS
    # crash) can drop commits that were already answered 201. FULL syncs the WAL on every
    # commit (one fsync, ~0.1-2 ms on SSDs). docs/durability.md.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # Every ~10,000 VM steps (tens of µs): lets an inline read past its budget be
    # interrupted and moved to a thread (db/runner.py). No budget, no interruption.
    dbapi_conn.set_progress_handler(past_deadline, 10_000)


def make_engine(settings: Settings) -> Engine:
    """Create the engine named by the settings; makes the SQLite file's directory (the data
    directory by default; not it when the URL names a file elsewhere)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        name = make_url(url).database
        if name and name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.sql_echo,
            connect_args={"check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=10,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    given = make_url(url).query
    return create_engine(
        url,
        echo=settings.sql_echo,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=10,
        # A pooled connection is checked before use: after a database restart the pool's
        # dead connections are replaced instead of failing the next requests.
        pool_pre_ping=True,
        connect_args={k: v for k, v in PG_CONNECT_ARGS.items() if k not in given},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (services return what they wrote)
    and whose commits a request can hold until its answer is built (``UnitSession``)."""
    return sessionmaker(engine, class_=UnitSession, expire_on_commit=False, autoflush=True)
