"""task list pages: filter indexes in the page order; status checked in the main index

Revision ID: 7c3e5a1f2b90
Revises: 5b1d0c7e9a42
"""

from __future__ import annotations

from alembic import op

revision = "7c3e5a1f2b90"
down_revision = "5b1d0c7e9a42"
branch_labels = None
depends_on = None

FILTERS = ("workflow_id", "campaign_id", "milestone_id")


def upgrade() -> None:
    op.drop_index("ix_tasks_org_modified", table_name="tasks")
    op.create_index(
        "ix_tasks_org_modified", "tasks", ["org_id", "modified_at", "id", "status", "overdue_at"]
    )
    for column in FILTERS:
        op.drop_index(f"ix_tasks_{column}", table_name="tasks")
        name = f"ix_tasks_{column.removesuffix('_id')}_modified"
        op.create_index(name, "tasks", [column, "modified_at", "id", "org_id"])


def downgrade() -> None:
    for column in FILTERS:
        op.drop_index(f"ix_tasks_{column.removesuffix('_id')}_modified", table_name="tasks")
        op.create_index(f"ix_tasks_{column}", "tasks", [column])
    op.drop_index("ix_tasks_org_modified", table_name="tasks")
    op.create_index("ix_tasks_org_modified", "tasks", ["org_id", "modified_at", "id"])
