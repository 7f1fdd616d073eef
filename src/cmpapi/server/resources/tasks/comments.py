"""Comments on tasks and sub-steps (tag "Tasks"): addCommentToTask,
listTaskSubStepComments, addCommentToTaskSubStep, getTaskSubStepComment,
updateTaskSubStepComment, deleteTaskSubStepComment.

Service functions are named after the operations and take ``(session, principal, ...)``;
each commits once, with its webhook events. Rules (docs/tasks.md, "Comments"):

- the author is the token's user; anyone who may write tasks comments, viewers read;
- only the author or an admin edits or deletes a comment (403 otherwise);
- ``parent_comment_id`` must name a comment of the same sub-step; threads are one level
  deep, so a reply to a reply joins the thread of its top-level comment;
- deleting a top-level comment deletes its replies (and every attached file);
- events (workflow_sub_step_comment_*, external_sub_step_comment_*) fire for top-level
  sub-step comments only; replies and task-level comments fire none.

Files are claimed (copied out of the upload area) by the route before the service runs,
because storage is async; the service only records them (``NewFile``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Forbidden, Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.tasks.comment_tables import TaskComment, TaskCommentAttachment
from cmpapi.server.resources.tasks.events import record_comment_event
from cmpapi.server.resources.tasks.metadata_attachments import (
    add_task_attachment,
    remove_task_attachments,
)
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task, TaskSubStep
from cmpapi.server.storage.inspect import require_upload_key

MAX_VALUE = 50_000  # characters of markdown in one comment
MAX_ATTACHMENTS = 20  # files on one comment
MAX_NAME = 255  # characters of an attachment's file name
OLDEST_FIRST = (TaskComment.created_at,)
SOURCE = "comment"  # source_type of the task attachments comments bring in


@dataclass(frozen=True, slots=True)
class Target:
    """What a comment is on: a task, or one of its sub-steps (both ids given)."""

    task_id: str
    step_id: str | None = None
    sub_step_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewFile:
    """An attachment claimed into the comments' own storage key, ready to record."""

    name: str
    key: str
    mime_type: str
    size: int


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment with its sub-step (None on task comments) and attachments, in order."""

    row: TaskComment
    sub_step: TaskSubStep | None
    attachments: list[TaskCommentAttachment] = field(default_factory=list)


def _now() -> datetime:
    # Sub-second precision on purpose: created_at orders the list (comment_tables.py).
    return datetime.now(UTC)


def _sub_step(
    session: Session, principal: Principal, target: Target, action: str
) -> tuple[Task, TaskSubStep]:
    """The target task and sub-step, once the caller may ``action`` the task (404 / 403)."""
    task = load_task(session, principal, target.task_id, action)
    ss = Repository(TaskSubStep, session, principal.org_id).find(
        TaskSubStep.id == target.sub_step_id,
        TaskSubStep.step_id == target.step_id,
        TaskSubStep.task_id == task.id,
    )
    if ss is None:
        raise NotFound()
    return task, ss


def _comment(session: Session, ss: TaskSubStep, comment_id: str) -> TaskComment:
    """A comment of this sub-step (404 otherwise, also for another sub-step's comment)."""
    comment = Repository(TaskComment, session, ss.org_id).find(
        TaskComment.id == comment_id, TaskComment.sub_step_id == ss.id
    )
    if comment is None:
        raise NotFound()
    return comment


def _attachments(
    session: Session, comments: Sequence[TaskComment]
) -> dict[str, list[TaskCommentAttachment]]:
    """The attachments of several comments, in one query."""
    found: dict[str, list[TaskCommentAttachment]] = {c.id: [] for c in comments}
    if found:
        rows = session.scalars(
            select(TaskCommentAttachment)
            .where(TaskCommentAttachment.comment_id.in_(list(found)))
            .order_by(TaskCommentAttachment.comment_id, TaskCommentAttachment.position)
        )
        for row in rows:
            found[row.comment_id].append(row)
    return found


def _check_value(value: str) -> str:
    if not value.strip():
        raise Invalid("A comment cannot be blank", {"value": "Blank"})
    if len(value) > MAX_VALUE:
        message = f"At most {MAX_VALUE:,} characters"
        raise Invalid("The comment is too long", {"value": message})
    return value


def check_attachments(
    session: Session, principal: Principal, target: Target, names: list[str], keys: list[str]
) -> None:
    """Before any file is copied: the caller may comment on the target, and every
    attachment has a name and an upload key of the caller's organization (422 naming
    ``attachments.N.name`` / ``attachments.N.key``)."""
    if target.sub_step_id is None:
        load_task(session, principal, target.task_id, "write")
    else:
        _sub_step(session, principal, target, "write")
    if len(keys) > MAX_ATTACHMENTS:
        message = f"At most {MAX_ATTACHMENTS} attachments per comment"
        raise Invalid(message, {"attachments": message})
    for n, (name, key) in enumerate(zip(names, keys, strict=True)):
        if not name.strip() or len(name) > MAX_NAME:
            message = f"A file name of 1 to {MAX_NAME} characters"
            raise Invalid("Invalid attachment name", {f"attachments.{n}.name": message})
        try:
            require_upload_key(session, principal.org_id, key)
        except Invalid as exc:
            raise Invalid(exc.message, {f"attachments.{n}.key": exc.message}) from None


def _insert(
    session: Session, principal: Principal, task: Task, ss: TaskSubStep | None,
    value: str, parent_id: str | None, files: list[NewFile],
) -> CommentView:  # fmt: skip
    """The comment and its files; the files also become attachments of the task
    (listTaskAttachments), sharing the comment's storage objects, which the comment owns."""
    now = _now()
    comment = TaskComment(id=new_id(), org_id=principal.org_id, task_id=task.id,
                          sub_step_id=ss.id if ss else None, parent_id=parent_id,
                          value=value, author_id=principal.user_id, created_at=now,
                          modified_at=now)  # fmt: skip
    session.add(comment)
    session.flush()
    attachments = [
        TaskCommentAttachment(id=new_id(), org_id=principal.org_id, comment_id=comment.id,
                              position=n, name=f.name, storage_key=f.key,
                              mime_type=f.mime_type, file_size=f.size, created_at=now)
        for n, f in enumerate(files)
    ]  # fmt: skip
    session.add_all(attachments)
    for f in files:
        add_task_attachment(session, task, name=f.name, storage_key=f.key,
                            mime_type=f.mime_type, size=f.size, created_by=principal.user_id,
                            source_type=SOURCE, source_id=comment.id)  # fmt: skip
    session.flush()
    return CommentView(comment, ss, attachments)


def add_comment_to_task(
    session: Session, principal: Principal, task_id: str, value: str, files: list[NewFile]
) -> CommentView:
    """Post a comment on the task itself (no webhook event exists for it)."""
    task = load_task(session, principal, task_id, "write")
    view = _insert(session, principal, task, None, _check_value(value), None, files)
    session.commit()
    return view


def list_task_sub_step_comments(
    session: Session, principal: Principal, target: Target, offset: int, page_size: int
) -> tuple[Page[TaskComment], list[CommentView]]:
    """Every comment of the sub-step, replies included, oldest first."""
    _, ss = _sub_step(session, principal, target, "read")
    page = Repository(TaskComment, session, principal.org_id).list(
        TaskComment.sub_step_id == ss.id, order_by=OLDEST_FIRST, offset=offset,
        page_size=page_size,
    )  # fmt: skip
    files = _attachments(session, page.items)
    return page, [CommentView(c, ss, files[c.id]) for c in page.items]


def _thread_root(session: Session, ss: TaskSubStep, parent_id: str) -> str:
    """The top-level comment a reply belongs to (422 unless it is on this sub-step)."""
    parent = Repository(TaskComment, session, ss.org_id).find(
        TaskComment.id == parent_id, TaskComment.sub_step_id == ss.id
    )
    if parent is None:
        message = "No comment of this sub-step has this id"
        raise Invalid("Unknown parent comment", {"parent_comment_id": message})
    return parent.parent_id or parent.id


def add_comment_to_task_sub_step(
    session: Session, principal: Principal, links: Links, target: Target, value: str,
    parent_comment_id: str | None, files: list[NewFile],
) -> CommentView:  # fmt: skip
    """Post a comment on a sub-step, or a reply (``parent_comment_id``) to one of its
    comments. A top-level comment records workflow_sub_step_comment_added (and
    external_sub_step_comment_added on external sub-steps)."""
    task, ss = _sub_step(session, principal, target, "write")
    value = _check_value(value)
    parent = _thread_root(session, ss, parent_comment_id) if parent_comment_id else None
    view = _insert(session, principal, task, ss, value, parent, files)
    if parent is None:
        record_comment_event(session, links, ss, view.row.id, "added")
    session.commit()
    return view


def get_task_sub_step_comment(
    session: Session, principal: Principal, target: Target, comment_id: str
) -> CommentView:
    """One comment (or reply) of the sub-step."""
    _, ss = _sub_step(session, principal, target, "read")
    comment = _comment(session, ss, comment_id)
    return CommentView(comment, ss, _attachments(session, [comment])[comment.id])


def _own(
    session: Session, principal: Principal, target: Target, comment_id: str
) -> tuple[TaskComment, TaskSubStep]:
    """A comment the caller may change: its author, or an admin (403 otherwise)."""
    _, ss = _sub_step(session, principal, target, "write")
    comment = _comment(session, ss, comment_id)
    if comment.author_id != principal.user_id and not principal.is_admin:
        raise Forbidden("Only the comment's author or an admin can change it")
    return comment, ss


def update_task_sub_step_comment(
    session: Session, principal: Principal, links: Links, target: Target, comment_id: str,
    value: str,
) -> CommentView:  # fmt: skip
    """Edit a comment's text (top-level: workflow/external_sub_step_comment_modified)."""
    comment, ss = _own(session, principal, target, comment_id)
    comment.value, comment.modified_at = _check_value(value), _now()
    if comment.parent_id is None:
        record_comment_event(session, links, ss, comment.id, "modified")
    session.commit()
    return CommentView(comment, ss, _attachments(session, [comment])[comment.id])


def delete_task_sub_step_comment(
    session: Session, principal: Principal, links: Links, target: Target, comment_id: str
) -> list[str]:
    """Delete a comment and, for a top-level one, its replies (which cannot stand alone
    once their thread is gone). Returns the storage keys of every attached file, for the
    caller to delete once the rows are gone."""
    comment, ss = _own(session, principal, target, comment_id)
    ids = [comment.id]
    if comment.parent_id is None:
        ids += session.scalars(select(TaskComment.id).where(TaskComment.parent_id == comment.id))
    keys = list(session.scalars(
        select(TaskCommentAttachment.storage_key).where(TaskCommentAttachment.comment_id.in_(ids))
    ))  # fmt: skip
    session.execute(delete(TaskCommentAttachment).where(TaskCommentAttachment.comment_id.in_(ids)))
    for gone in ids:  # the task's attachment list shares the objects; the comment owns them
        remove_task_attachments(session, ss.org_id, SOURCE, gone)
    session.execute(
        delete(TaskComment).where(or_(TaskComment.parent_id == comment.id,
                                      TaskComment.id == comment.id))
    )  # fmt: skip
    if comment.parent_id is None:
        record_comment_event(session, links, ss, comment.id, "removed")
    session.commit()
    return keys
