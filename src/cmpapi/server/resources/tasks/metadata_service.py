"""Brief, URLs and publishing intents of tasks: getTaskBrief, addUrlToTask,
createTaskPublishingIntent, and ``set_task_brief`` / ``remove_task_brief`` for the modules
that create briefs.

The API has no operation that writes a brief: briefs arrive with the work requests and
templates they are made from (later issues), which call ``set_task_brief``. Until then a
task has no brief and ``getTaskBrief`` answers 404 (docs/compat.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.tasks.field_service import writable_task
from cmpapi.server.resources.tasks.metadata_attachments import attached_now
from cmpapi.server.resources.tasks.metadata_events import record_brief_event
from cmpapi.server.resources.tasks.metadata_tables import (
    URL,
    TaskAttachment,
    TaskBrief,
    TaskPublishingIntent,
)
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import AddUrlToTaskRequest

BRIEF_TYPES = ("template", "attachment", "text")
MAX_URL, MAX_TITLE, MAX_CHANNEL = 2048, 255, 64
NO_BRIEF = "The task has no brief"


def get_task_brief(session: Session, principal: Principal, task_id: str) -> TaskBrief:
    """The task's brief (404 when it has none)."""
    task = load_task(session, principal, task_id, "read")
    brief = session.get(TaskBrief, task.id)
    if brief is None:
        raise NotFound(NO_BRIEF)
    return brief


def set_task_brief(
    session: Session, links: Links, task: Task, *, type: str, title: str,
    fields: Sequence[dict[str, Any]] = (), template: tuple[str, str] | None = None,
) -> TaskBrief:  # fmt: skip
    """Give the task its brief, or replace it; records ``task_brief_added`` or
    ``task_brief_modified`` (flushed, not committed: the caller commits with its change).

    ``fields`` are ``{"name", "settings_field_id" (or None), "value": [str]}``;
    ``template`` is ``(id, name)`` for template briefs.
    """
    if type not in BRIEF_TYPES:
        raise ValueError(f"unknown brief type {type!r}")
    brief = session.get(TaskBrief, task.id)
    action = "modified" if brief else "added"
    if brief is None:
        brief = TaskBrief(task_id=task.id, org_id=task.org_id, created_at=utcnow())
        session.add(brief)
    brief.type, brief.title, brief.fields = type, title, [dict(f) for f in fields]
    brief.template_id, brief.template_name = template or (None, None)
    brief.modified_at = utcnow()
    session.flush()
    record_brief_event(session, links, task, action)
    return brief


def remove_task_brief(session: Session, links: Links, task: Task) -> bool:
    """Drop the task's brief (``task_brief_removed``); False if it had none."""
    brief = session.get(TaskBrief, task.id)
    if brief is None:
        return False
    session.delete(brief)
    session.flush()
    record_brief_event(session, links, task, "removed")
    return True


def _checked_url(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
        raise Invalid("Invalid URL", {"url": f"An absolute http(s) URL of at most {MAX_URL} "
                                              "characters"})  # fmt: skip
    return url


def add_url_to_task(
    session: Session, principal: Principal, task_id: str, body: AddUrlToTaskRequest
) -> TaskAttachment:
    """Add a link to the task; it lists among the task's attachments, named by its title
    (the URL itself when no title is given)."""
    task = writable_task(session, principal, task_id)
    url = _checked_url(body.url)
    title = body.title.strip() if isinstance(body.title, str) else ""
    if len(title) > MAX_TITLE:
        raise Invalid("Invalid title", {"title": f"At most {MAX_TITLE} characters"})
    row = TaskAttachment(
        id=new_id(), org_id=task.org_id, task_id=task.id, kind=URL,
        name=title or url[:MAX_TITLE], url=url, created_by=principal.user_id,
        created_at=attached_now(),
    )  # fmt: skip
    session.add(row)
    session.commit()
    return row


def create_task_publishing_intent(
    session: Session, principal: Principal, task_id: str, channel_id: str
) -> str:
    """Record that the task is to be published on a channel; the intent's id. Asking
    again for the same channel answers the existing intent."""
    task = writable_task(session, principal, task_id)
    channel = channel_id.strip()
    if not channel or len(channel) > MAX_CHANNEL:
        raise Invalid("Invalid channel", {"channel_id": f"1 to {MAX_CHANNEL} characters"})
    existing = _intent_id(session, task, channel)
    if existing is not None:
        return existing
    intent = TaskPublishingIntent(id=new_id(), org_id=task.org_id, task_id=task.id,
                                  channel_id=channel, created_by=principal.user_id,
                                  created_at=utcnow())  # fmt: skip
    session.add(intent)
    try:
        session.commit()
    except IntegrityError:  # a concurrent request recorded the same intent first
        session.rollback()
        return _intent_id(session, task, channel) or intent.id
    return intent.id


def _intent_id(session: Session, task: Task, channel: str) -> str | None:
    return session.scalar(
        select(TaskPublishingIntent.id).where(
            TaskPublishingIntent.task_id == task.id, TaskPublishingIntent.channel_id == channel
        )
    )
