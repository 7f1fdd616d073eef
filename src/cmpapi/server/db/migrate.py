"""Alembic, driven from code: the running server needs no alembic.ini."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config whose env.py runs on this engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision from the difference between the tables and the DB."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)


@functools.cache
def heads() -> frozenset[str]:
    """The revisions the code's migrations end at (read once: the files do not change)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def current(conn: Connection) -> frozenset[str]:
    """The revisions the database is at (none for an un-migrated one)."""
    return frozenset(MigrationContext.configure(conn).get_current_heads())
