"""Alembic, driven from code: the running server needs no alembic.ini.

Alembic itself is imported only when a migration has to run: a server that starts on a
database already at head (every start but the first) reads the head from the migration
files and the database's revision with one query (~90 ms of imports and ~20 ms of loading
every migration module less at each ``cmpapi serve`` and ``/readyz``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# The module-level assignments of a revision file, as Alembic's template writes them.
_REVISION = re.compile(r"^revision(?:\s*:[^=]*)?\s*=\s*['\"](\w+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]*)?\s*=\s*(.+)$", re.M)
_ID = re.compile(r"['\"](\w+)['\"]")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config whose env.py runs on this engine."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (idempotent; nothing is imported or run when
    the database is already at the head)."""
    if revision == "heads" and at_head(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision from the difference between the tables and the DB."""
    from alembic import command

    command.revision(alembic_config(engine), message=message, autogenerate=True)


@functools.cache
def heads() -> frozenset[str]:
    """The revisions the code's migrations end at: every revision no other revision
    revises (read once from the files: they do not change while a process runs;
    tests/server/test_migrations.py checks it against Alembic's own reading)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            revised.update(_ID.findall(down.group(1)))
    return frozenset(revisions - revised)


def current(conn: Connection) -> frozenset[str]:
    """The revisions the database is at (none for an un-migrated one)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is at the migrations' head."""
    with engine.connect() as conn:
        return current(conn) == heads()
