"""library counts kept by triggers; list-page indexes (folder and type covered, ACL by accessor)

Revision ID: 5b1d0c7e9a42
Revises: 4e807dfaa1cd
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b1d0c7e9a42"
down_revision = "4e807dfaa1cd"
branch_labels = None
depends_on = None

# (trigger table, kind, org expression, key expression, sub expression, watched columns)
_SOURCES = (
    ("library_assets", "asset", "{r}.org_id", "COALESCE({r}.folder_id, '')", "{r}.type",
     ("org_id", "folder_id", "type")),
    ("library_asset_labels", "label", "''", "{r}.value_id", "''", ("value_id",)),
)  # fmt: skip


def _delta(kind: str, org: str, key: str, sub: str, row: str, n: int) -> str:
    # Built only from the constants above, never from input.
    values = ", ".join(part.format(r=row) for part in (org, key, sub))
    columns = "kind, org_id, key, sub, n"
    return f"INSERT INTO library_counts ({columns}) VALUES ('{kind}', {values}, {n})"  # noqa: S608


def _changed(columns: tuple[str, ...], differs: str) -> str:
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in columns)


def _sqlite_triggers() -> None:
    for table, kind, org, key, sub, columns in _SOURCES:
        plus = _delta(kind, org, key, sub, "NEW", 1)
        minus = _delta(kind, org, key, sub, "OLD", -1)
        for event, body in (("insert", plus), ("delete", minus)):
            op.execute(
                f"CREATE TRIGGER {table}_counted_{event} AFTER {event.upper()} ON {table}"
                f" BEGIN {body}; END"
            )
        op.execute(
            f"CREATE TRIGGER {table}_counted_update AFTER UPDATE OF {', '.join(columns)} ON {table}"
            f" WHEN {_changed(columns, 'IS NOT')} BEGIN {minus}; {plus}; END"
        )


def _postgresql_triggers() -> None:
    for table, kind, org, key, sub, columns in _SOURCES:
        plus = _delta(kind, org, key, sub, "NEW", 1)
        minus = _delta(kind, org, key, sub, "OLD", -1)
        op.execute(
            f"CREATE FUNCTION {table}_counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {minus}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN {plus}; END IF; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_counted AFTER INSERT OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {table}_counted()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_counted_update AFTER UPDATE OF {', '.join(columns)} ON {table}"
            f" FOR EACH ROW WHEN ({_changed(columns, 'IS DISTINCT FROM')})"
            f" EXECUTE FUNCTION {table}_counted()"
        )


def upgrade() -> None:
    op.drop_index("ix_library_assets_type", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_type_modified",
        "library_assets",
        ["org_id", "type", "modified_at", "id"],
    )
    op.drop_index("ix_library_acl_accessor_id", table_name="library_acl")
    op.create_index(
        "ix_library_acl_accessor", "library_acl", ["accessor_id", "resource_type", "resource_id"]
    )
    op.drop_index("ix_library_assets_org_modified", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_modified",
        "library_assets",
        ["org_id", "modified_at", "id", "folder_id", "type"],
    )
    op.create_table(
        "library_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("sub", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_counts")),
    )
    op.create_index(
        "ix_library_counts_key", "library_counts", ["kind", "org_id", "key", "sub", "n"]
    )
    op.execute(
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"
        " SELECT 'asset', org_id, COALESCE(folder_id, ''), type, count(*) FROM library_assets"
        " GROUP BY org_id, COALESCE(folder_id, ''), type"
    )
    op.execute(
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"
        " SELECT 'label', '', value_id, '', count(*) FROM library_asset_labels GROUP BY value_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    op.drop_index("ix_library_assets_org_type_modified", table_name="library_assets")
    op.create_index("ix_library_assets_type", "library_assets", ["type"])
    op.drop_index("ix_library_assets_org_modified", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_modified", "library_assets", ["org_id", "modified_at", "id"]
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, *_ in _SOURCES:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_counted ON {table}")
            op.execute(f"DROP TRIGGER {table}_counted_update ON {table}")
            op.execute(f"DROP FUNCTION {table}_counted()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_counted_{event}")
    op.drop_index("ix_library_counts_key", table_name="library_counts")
    op.drop_table("library_counts")
    op.drop_index("ix_library_acl_accessor", table_name="library_acl")
    op.create_index("ix_library_acl_accessor_id", "library_acl", ["accessor_id"])
