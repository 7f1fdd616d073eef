"""jobs, outbox events and webhook deliveries keep the request id of the request that
caused them (their log lines name it)

Revision ID: b3f8d1e6a2c4
Revises: a1e4c9d2b7f3
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3f8d1e6a2c4"
down_revision = "a1e4c9d2b7f3"
branch_labels = None
depends_on = None

TABLES = ("jobs", "outbox_events", "webhook_deliveries")


def upgrade() -> None:
    # add_column, not batch_alter_table: nullable columns need no table rebuild on SQLite.
    for table in TABLES:
        op.add_column(table, sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "request_id")
