"""sign-in throttling: failure counters and known addresses

Revision ID: f710b4ee02ae
Revises: bd84e3ff39d7
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmpapi.server.db.base

revision = "f710b4ee02ae"
down_revision = "bd84e3ff39d7"
branch_labels = None
depends_on = None

UTC = cmpapi.server.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "signin_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UTC(timezone=True), nullable=True),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_throttles")),
    )
    with op.batch_alter_table("signin_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signin_throttles_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signin_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_throttles_expires_at"))
    op.drop_table("signin_throttles")
