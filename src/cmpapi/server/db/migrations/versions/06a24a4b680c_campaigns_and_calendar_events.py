"""campaigns and calendar events

Revision ID: 06a24a4b680c
Revises: 1765f200ea3b
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmpapi.server.db.base

revision = "06a24a4b680c"
down_revision = "1765f200ea3b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=4096), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("labels", cmpapi.server.db.base.PortableJSON(), nullable=False),
        sa.Column("budget_amount", sa.String(length=32), nullable=True),
        sa.Column("budget_currency", sa.String(length=3), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_campaigns_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_campaigns_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_campaigns_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["campaigns.id"],
            name=op.f("fk_campaigns_parent_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("org_id", "number", name="uq_campaigns_org_number"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "calendar_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=4096), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("campaign_id", sa.String(length=32), nullable=True),
        sa.Column("start_date", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_all_day", sa.Boolean(), nullable=False),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_calendar_events_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_calendar_events_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_events")),
        sa.UniqueConstraint("org_id", "number", name="uq_calendar_events_org_number"),
    )
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_events_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_calendar_events_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_calendar_events_org_start", ["org_id", "start_date", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_events_org_start")
        batch_op.drop_index(batch_op.f("ix_calendar_events_org_id"))
        batch_op.drop_index(batch_op.f("ix_calendar_events_campaign_id"))

    op.drop_table("calendar_events")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_parent_id"))
        batch_op.drop_index(batch_op.f("ix_campaigns_owner_id"))
        batch_op.drop_index(batch_op.f("ix_campaigns_org_id"))

    op.drop_table("campaigns")
