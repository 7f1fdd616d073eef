"""trigram indexes of asset and task titles (db/search.py)

Revision ID: 9d2f6b4c1e07
Revises: 7c3e5a1f2b90
"""

from __future__ import annotations

from alembic import op

revision = "9d2f6b4c1e07"
down_revision = "7c3e5a1f2b90"
branch_labels = None
depends_on = None

TABLES = ("library_assets", "tasks")  # search.INDEXED when this revision was written


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in TABLES:
        if postgresql:
            op.execute(
                f"CREATE INDEX ix_{table}_title_trgm ON {table} USING gin (title gin_trgm_ops)"
            )
            continue
        search = f"{table}_search"
        op.execute(
            f"CREATE VIRTUAL TABLE {search} USING fts5(title, content='{table}',"
            " content_rowid='rowid', tokenize='trigram')"
        )
        # Names come from TABLES above, never from input.
        add = f"INSERT INTO {search}(rowid, title) VALUES (new.rowid, new.title)"  # noqa: S608
        drop = (
            f"INSERT INTO {search}({search}, rowid, title)"  # noqa: S608
            " VALUES ('delete', old.rowid, old.title)"
        )
        op.execute(f"CREATE TRIGGER {search}_insert AFTER INSERT ON {table} BEGIN {add}; END")
        op.execute(f"CREATE TRIGGER {search}_delete AFTER DELETE ON {table} BEGIN {drop}; END")
        op.execute(
            f"CREATE TRIGGER {search}_update AFTER UPDATE OF title ON {table}"
            f" BEGIN {drop}; {add}; END"
        )
        op.execute(f"INSERT INTO {search}({search}) VALUES ('rebuild')")  # noqa: S608


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgresql:
            op.execute(f"DROP INDEX ix_{table}_title_trgm")
            continue
        search = f"{table}_search"
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {search}_{event}")
        op.execute(f"DROP TABLE {search}")
