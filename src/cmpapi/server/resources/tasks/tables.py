"""Task tables: tasks, their steps and sub-steps (copied from the workflow at creation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

# Stored task statuses (the spec's enum minus "Overdue", which depends on the clock:
# ``overdue_at`` < now on a task that is Not Started or In Progress).
NOT_STARTED, IN_PROGRESS, COMPLETED, ON_HOLD, ARCHIVED = (
    "Not Started",
    "In Progress",
    "Completed",
    "On Hold",
    "Archived",
)
OVERDUE = "Overdue"

# Sub-step states. ``waiting``: its step is not open yet or an earlier sub-step of the step
# is unfinished; ``open``: the next one to do; then in_progress; completed or skipped end it.
WAITING, OPEN, STARTED, DONE, SKIPPED = "waiting", "open", "in_progress", "completed", "skipped"
FINISHED = (DONE, SKIPPED)


class Task(OrgScoped, Base):
    """A task. ``status`` is stored (see the constants above) so listTasks filters on an
    index; ``overdue_at`` is the earliest due date that makes it overdue (its own or the
    open step's)."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_tasks_org_number"),
        # status and overdue_at ride along: a walk in the page order decides any status
        # filter on index entries, without reading the rows it skips.
        Index("ix_tasks_org_modified", "org_id", "modified_at", "id", "status", "overdue_at"),
        # One seek per filter value, then entries already in the page order (a plain
        # workflow_id index made the planner sort every task of the workflow per page).
        Index("ix_tasks_workflow_modified", "workflow_id", "modified_at", "id", "org_id"),
        Index("ix_tasks_campaign_modified", "campaign_id", "modified_at", "id", "org_id"),
        Index("ix_tasks_milestone_modified", "milestone_id", "modified_at", "id", "org_id"),
        # overdue_at included: the Overdue / Not Started / In Progress filters are decided
        # in the index, without reading each skipped row (50,000-row offset: 208 -> 26 ms).
        Index(
            "ix_tasks_org_status_modified", "org_id", "status", "modified_at", "id", "overdue_at"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    workflow_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("workflows.id", ondelete="SET NULL")
    )
    campaign_id: Mapped[str | None] = mapped_column(String(32))
    milestone_id: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    start_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    is_started: Mapped[bool] = mapped_column(Boolean, default=False)
    is_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    is_on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskStep(OrgScoped, Base):
    """One step of a task, in workflow order (``position``)."""

    __tablename__ = "task_steps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    is_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None]


class TaskSubStep(OrgScoped, Base):
    """One sub-step of a task step. External sub-steps carry the linked ticket
    (``ext_*``, set by updateTaskSubStepExternalWork)."""

    __tablename__ = "task_sub_steps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_steps.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[list[Any]] = mapped_column(PortableJSON(), default=list)
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    assignee_type: Mapped[str] = mapped_column(String(8), default="user")
    assignee_id: Mapped[str | None] = mapped_column(String(32))
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    external_system: Mapped[str | None] = mapped_column(String(128))
    is_user_interaction_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    ext_identifier: Mapped[str | None] = mapped_column(String(50))
    ext_title: Mapped[str | None] = mapped_column(String(128))
    ext_status: Mapped[str | None] = mapped_column(String(128))
    ext_url: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
