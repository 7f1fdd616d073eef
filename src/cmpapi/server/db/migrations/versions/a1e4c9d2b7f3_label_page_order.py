"""label rows carry their asset's modified_at (kept by triggers) for label pages in order

Revision ID: a1e4c9d2b7f3
Revises: 9d2f6b4c1e07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmpapi.server.db.base

revision = "a1e4c9d2b7f3"
down_revision = "9d2f6b4c1e07"
branch_labels = None
depends_on = None

COPY = (
    "UPDATE library_asset_labels SET modified_at = (SELECT a.modified_at FROM library_assets a"
    " WHERE a.id = library_asset_labels.asset_id)"
)


def upgrade() -> None:
    # add_column, not batch_alter_table: a batch would recreate the table on SQLite and
    # drop its counting triggers.
    op.add_column(
        "library_asset_labels",
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute(COPY)
    op.drop_index("ix_library_asset_labels_value_id", table_name="library_asset_labels")
    op.create_index(
        "ix_library_asset_labels_value_modified",
        "library_asset_labels",
        ["value_id", "modified_at", "asset_id"],
    )
    follow = "UPDATE library_asset_labels SET modified_at = NEW.modified_at WHERE asset_id = NEW.id"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION library_asset_labels_ordered() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN NEW.modified_at := (SELECT modified_at FROM library_assets"
            " WHERE id = NEW.asset_id); RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER library_asset_labels_ordered BEFORE INSERT ON library_asset_labels"
            " FOR EACH ROW EXECUTE FUNCTION library_asset_labels_ordered()"
        )
        op.execute(
            "CREATE FUNCTION library_assets_label_order() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN {follow}; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER library_assets_label_order AFTER UPDATE OF modified_at"
            " ON library_assets FOR EACH ROW WHEN (OLD.modified_at IS DISTINCT FROM"
            " NEW.modified_at) EXECUTE FUNCTION library_assets_label_order()"
        )
        return
    op.execute(
        "CREATE TRIGGER library_asset_labels_ordered AFTER INSERT ON library_asset_labels"
        " BEGIN UPDATE library_asset_labels SET modified_at = (SELECT modified_at"
        " FROM library_assets WHERE id = NEW.asset_id) WHERE asset_id = NEW.asset_id"
        " AND group_id = NEW.group_id AND value_id = NEW.value_id; END"
    )
    op.execute(
        "CREATE TRIGGER library_assets_label_order AFTER UPDATE OF modified_at ON library_assets"
        f" WHEN OLD.modified_at IS NOT NEW.modified_at BEGIN {follow}; END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER library_asset_labels_ordered" + _on("library_asset_labels"))
    op.execute("DROP TRIGGER library_assets_label_order" + _on("library_assets"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION library_asset_labels_ordered()")
        op.execute("DROP FUNCTION library_assets_label_order()")
    op.drop_index("ix_library_asset_labels_value_modified", table_name="library_asset_labels")
    op.create_index("ix_library_asset_labels_value_id", "library_asset_labels", ["value_id"])
    op.execute("ALTER TABLE library_asset_labels DROP COLUMN modified_at")  # keeps triggers


def _on(table: str) -> str:
    return f" ON {table}" if op.get_bind().dialect.name == "postgresql" else ""
