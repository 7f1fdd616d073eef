"""Comments on tasks and sub-steps (tag "Tasks"): addCommentToTask,
listTaskSubStepComments, addCommentToTaskSubStep, getTaskSubStepComment,
updateTaskSubStepComment, deleteTaskSubStepComment.

The shared comments (``subresources.comments``) hold the rules; a sub-step's comments are
the task's comments scoped to the sub-step (``scope_id``). Writing a comment needs only
the right to write tasks (an archived task can still be discussed). Service functions are
named after the operations, take ``(session, principal, ...)`` and commit once, with
their webhook events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources import comments
from cmpapi.server.resources.subresources.comments import CommentView
from cmpapi.server.resources.subresources.files import NewFile
from cmpapi.server.resources.tasks.parent import TASK, sub_step_parent
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task, TaskSubStep


@dataclass(frozen=True, slots=True)
class Target:
    """What a comment is on: a task, or one of its sub-steps (both ids given)."""

    task_id: str
    step_id: str | None = None
    sub_step_id: str | None = None


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


def check_attachments(
    session: Session, principal: Principal, target: Target, names: list[str], keys: list[str]
) -> None:
    """Before any file is copied: the caller may comment on the target, and every
    attachment has a name and an upload key of the caller's organization."""
    if target.sub_step_id is None:
        load_task(session, principal, target.task_id, "write")
    else:
        _sub_step(session, principal, target, "write")
    comments.check_files(session, principal.org_id, names, keys)


def add_comment_to_task(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    value: str,
    files: Sequence[NewFile],
) -> CommentView:
    """Post a comment on the task itself (no webhook event exists for it)."""
    task = load_task(session, principal, task_id, "write")
    view = comments.add(session, principal, links, TASK, task, value, files)
    session.commit()
    return view


def list_task_sub_step_comments(
    session: Session, principal: Principal, target: Target, offset: int, page_size: int
) -> tuple[Page[Any], list[CommentView], TaskSubStep]:
    """Every comment of the sub-step, replies included, oldest first."""
    task, ss = _sub_step(session, principal, target, "read")
    found, views = comments.page(session, TASK, task, offset, page_size, scope_id=ss.id)
    return found, views, ss


def add_comment_to_task_sub_step(
    session: Session,
    principal: Principal,
    links: Links,
    target: Target,
    value: str,
    parent_comment_id: str | None,
    files: Sequence[NewFile],
) -> tuple[CommentView, TaskSubStep]:
    """Post a comment on a sub-step, or a reply (``parent_comment_id``) to one of its
    comments. A top-level comment records workflow_sub_step_comment_added (and
    external_sub_step_comment_added on external sub-steps)."""
    task, ss = _sub_step(session, principal, target, "write")
    view = comments.add(
        session,
        principal,
        links,
        sub_step_parent(ss),
        task,
        value,
        files,
        scope_id=ss.id,
        reply_to=parent_comment_id,
    )
    session.commit()
    return view, ss


def get_task_sub_step_comment(
    session: Session, principal: Principal, target: Target, comment_id: str
) -> tuple[CommentView, TaskSubStep]:
    """One comment (or reply) of the sub-step."""
    task, ss = _sub_step(session, principal, target, "read")
    return comments.get(session, TASK, task, comment_id, ss.id), ss


def update_task_sub_step_comment(
    session: Session,
    principal: Principal,
    links: Links,
    target: Target,
    comment_id: str,
    value: str,
) -> tuple[CommentView, TaskSubStep]:
    """Edit a comment's text (its author or an admin)."""
    task, ss = _sub_step(session, principal, target, "write")
    view = comments.update(
        session, principal, links, sub_step_parent(ss), task, comment_id, value, ss.id
    )
    session.commit()
    return view, ss


def delete_task_sub_step_comment(
    session: Session, principal: Principal, links: Links, target: Target, comment_id: str
) -> list[str]:
    """Delete a comment (its author or an admin) and its replies; the storage keys of
    their files, for the caller to delete once the rows are gone."""
    task, ss = _sub_step(session, principal, target, "write")
    _, keys = comments.remove(
        session, principal, links, sub_step_parent(ss), task, comment_id, ss.id
    )
    session.commit()
    return keys
