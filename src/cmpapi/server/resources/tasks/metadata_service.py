"""Attachments, brief, URLs and publishing intents of tasks: listTaskAttachments,
getTaskBrief, addUrlToTask, createTaskPublishingIntent, and ``set_task_brief`` /
``remove_task_brief`` for the modules that make briefs (work requests).

Attachments and the brief are the shared sub-resources (``subresources``) of the task
parent (``parent.TASK``); publishing intents are the task's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid
from cmpapi.server.http.links import Links
from cmpapi.server.resources.publishing import loop as publishing
from cmpapi.server.resources.publishing.channels import usable_channel
from cmpapi.server.resources.subresources import attachments, briefs
from cmpapi.server.resources.subresources.tables import Attachment, Brief
from cmpapi.server.resources.tasks.metadata_tables import TaskPublishingIntent
from cmpapi.server.resources.tasks.parent import TASK, read_task, writable_task
from cmpapi.server.resources.tasks.service import load_flow
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import AddUrlToTaskRequest


def list_task_attachments(
    session: Session, principal: Principal, task_id: str, offset: int, page_size: int
) -> Page[Any]:
    """The task's files (from its comments) and links, oldest first (rows of
    ``attachments.LIST_COLUMNS``)."""
    return attachments.page(
        session, TASK, read_task(session, principal, task_id), offset, page_size
    )


def get_task_brief(session: Session, principal: Principal, task_id: str) -> Brief:
    """The task's brief (404 when it has none)."""
    return briefs.get(session, TASK, read_task(session, principal, task_id))


def set_task_brief(
    session: Session,
    links: Links,
    task: Task,
    *,
    type: str,
    title: str,
    fields: Sequence[dict[str, Any]] = (),
    template: tuple[str, str] | None = None,
) -> Brief:
    """Give the task its brief, or replace it (``task_brief_added`` / ``_modified``;
    flushed, not committed: the caller commits with its change)."""
    return briefs.put(
        session, links, TASK, task, type=type, title=title, fields=fields, template=template
    )


def remove_task_brief(session: Session, links: Links, task: Task) -> bool:
    """Drop the task's brief (``task_brief_removed``); False if it had none."""
    return briefs.remove(session, links, TASK, task)


def add_url_to_task(
    session: Session, principal: Principal, task_id: str, body: AddUrlToTaskRequest
) -> Attachment:
    """Add a link to the task; it lists among the task's attachments, named by its title
    (the URL itself when no title is given)."""
    task = writable_task(session, principal, task_id)
    title = body.title if isinstance(body.title, str) else ""
    row = attachments.add_link(session, TASK, task, body.url, title, principal.user_id)
    session.commit()
    return row


def create_task_publishing_intent(
    session: Session, principal: Principal, links: Links, task_id: str, channel_id: str
) -> str:
    """Record that the task is to be published on a channel of the organization (404
    naming ``channel_id`` for an unknown one, 422 for a disabled one or one its workflow
    disallows); the intent's id.
    Asking again for the same channel answers the existing intent. A task past its
    publishing moment (``publishing.loop``) publishes on the channel at once."""
    task = writable_task(session, principal, task_id)
    channel = usable_channel(session, task.org_id, channel_id.strip())
    if channel.name.casefold() in publishing.workflow_channels(session, task)[1]:
        raise Invalid(
            "The task's workflow does not allow this publishing channel",
            {"channel_id": "Disallowed by the workflow"},
        )
    existing = _intent_id(session, task, channel.id)
    if existing is not None:
        return existing
    intent = TaskPublishingIntent(
        id=new_id(),
        org_id=task.org_id,
        task_id=task.id,
        channel_id=channel.id,
        created_by=principal.user_id,
        created_at=utcnow(),
    )
    session.add(intent)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request recorded the same intent first
        session.rollback()
        return _intent_id(session, task, channel.id) or intent.id
    if publishing.publish_step_done(load_flow(session, task)):
        publishing.publish_intended(session, links, task, principal.user_id)
    session.commit()
    return intent.id


def _intent_id(session: Session, task: Task, channel: str) -> str | None:
    return session.scalar(
        select(TaskPublishingIntent.id).where(
            TaskPublishingIntent.task_id == task.id, TaskPublishingIntent.channel_id == channel
        )
    )
