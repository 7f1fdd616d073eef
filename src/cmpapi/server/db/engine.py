"""Engine and session factory for SQLite (default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.settings import Settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # The busy timeout first: the statements below may wait for another connection.
    cur.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers run beside the single writer. The mode persists in the file, so it
    # is switched only once: switching needs a lock that a busy database refuses at once
    # ("database is locked", seen under load in CI) instead of waiting for it.
    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL sync is durable in WAL mode except for the last commits on power loss, the
    # usual trade for an embedded server.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(settings: Settings) -> Engine:
    """Create the engine named by the settings; makes the data directory for SQLite."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
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
    return create_engine(
        url,
        echo=settings.sql_echo,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_pre_ping=True,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (services return what they wrote)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)
