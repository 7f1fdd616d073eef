"""Attachments of tasks: listTaskAttachments, and the API other task modules use to attach
files (comments) to a task.

A task's attachments are the files brought in by its comments (or any other source that
calls ``add_task_attachment``) and the links added with ``addUrlToTask``. For another
module::

    from cmpapi.server.resources.tasks.metadata_attachments import (
        add_task_attachment, remove_task_attachments)

    # in the service that claimed the upload (its own storage copy), before it commits:
    add_task_attachment(session, task, name="brief.pdf", storage_key=own_key,
                        mime_type="application/pdf", size=1234, created_by=user_id,
                        source_type="comment", source_id=comment.id)
    # when the comment goes away (same transaction):
    remove_task_attachments(session, task.org_id, "comment", comment.id)

Neither function commits nor deletes storage objects: the caller owns both.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid
from cmpapi.server.resources.tasks.metadata_tables import FILE, TaskAttachment
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task

MAX_NAME = 255
IN_ORDER = (TaskAttachment.created_at, TaskAttachment.id)


def attached_now() -> datetime:
    """``created_at`` of a new attachment. Sub-second precision on purpose: it is the list
    order, so files attached within one second still list in the order they came (the
    wire shows whole seconds)."""
    return datetime.now(UTC)


def add_task_attachment(
    session: Session, task: Task, *, name: str, storage_key: str, mime_type: str, size: int,
    created_by: str | None = None, source_type: str | None = None,
    source_id: str | None = None,
) -> TaskAttachment:  # fmt: skip
    """Attach a stored file to ``task`` (added to the session and flushed, not committed).

    ``storage_key`` must be the caller's own copy of the upload (an upload key can be
    uploaded to again). ``source_type``/``source_id`` (``"comment"``, the comment's id)
    let the source find and remove its attachments later. A blank name or one longer
    than 255 characters raises ``Invalid`` naming ``name``.
    """
    if not name.strip() or len(name) > MAX_NAME:
        raise Invalid("Invalid attachment name", {"name": f"1 to {MAX_NAME} characters"})
    row = TaskAttachment(
        id=new_id(), org_id=task.org_id, task_id=task.id, kind=FILE, name=name,
        storage_key=storage_key, mime_type=mime_type, size=size, created_by=created_by,
        source_type=source_type, source_id=source_id, created_at=attached_now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def remove_task_attachments(
    session: Session, org_id: str, source_type: str, source_id: str
) -> list[str]:
    """Forget the attachments a source brought in; their storage keys, for the caller to
    delete once its transaction commits (if it owns the objects)."""
    where = (
        TaskAttachment.org_id == org_id,
        TaskAttachment.source_type == source_type,
        TaskAttachment.source_id == source_id,
    )
    keys = [k for k in session.scalars(select(TaskAttachment.storage_key).where(*where)) if k]
    session.execute(delete(TaskAttachment).where(*where))
    return keys


def list_task_attachments(
    session: Session, principal: Principal, task_id: str, offset: int, page_size: int
) -> Page[TaskAttachment]:
    """The task's files and links, oldest first."""
    task = load_task(session, principal, task_id, "read")
    return Repository(TaskAttachment, session, task.org_id).list(
        TaskAttachment.task_id == task.id, order_by=IN_ORDER, offset=offset,
        page_size=page_size,
    )  # fmt: skip
