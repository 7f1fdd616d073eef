"""Content previews: the handshake of shared/reference/cmp-webhooks.md §3b.

1. Someone asks for a preview of a task's structured content (``request_preview``:
   ``POST /ext/v1/tasks/{task_id}/structured-contents/{content_id}/previews`` or
   ``cmpapi tasks preview``; the CMP has no such operation). A ``ContentPreview`` of the
   content's latest fields version is stored and ``content_preview_requested`` recorded
   (``preview_payload``) with the links to acknowledge and complete it.
2. An integration acknowledges it (acknowledgeSCContentPreview) once, echoing the
   version's ``content_hash``; a second acknowledgement is refused (422).
3. It completes it (completeSCContentPreview) with keyed previews: URLs of rendered
   previews, or error pages. Completing before acknowledging is refused (422); a later
   complete replaces the keyed previews.

Keyed previews are hostile input: ``check_keyed_previews`` keeps http(s) URLs only, bounds
every size, and never fetches anything (the spec's locale / mimeType inference from the
URL's headers is not done: the defaults apply).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.structured_content import mapping
from cmpapi.server.resources.structured_content.contents import ContentView
from cmpapi.server.resources.structured_content.preview_tables import (
    ACKNOWLEDGED,
    COMPLETED,
    REQUESTED,
    ContentPreview,
)
from cmpapi.server.resources.structured_content.task_contents import task_content
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import (
    KeyedPreviewCompletedModel,
    KeyedPreviewErrorModel,
    SCContentPreviewAcknowledgeRequest,
    SCContentPreviewCompleteRequest,
)

MAX_PREVIEWS = 50  # keyed previews per complete
MAX_KEY = 100
MAX_URL = 2048
MAX_NAME = 255
MAX_ACKNOWLEDGED_BY = 255
LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,3}")
MIME = re.compile(r"[\w.+-]{1,63}/[\w.+-]{1,63}")
MAX_ORDER = 1e9
ASSET_ARRAYS = ("articles", "images", "videos", "raw_files")
ALREADY = "The preview was already acknowledged"
DEFAULTS = {"name": "", "locale": "en_US", "mime_type": "text/html", "order_index": 0}


# -- the event ---------------------------------------------------------------------------


def action_links(links: Links, preview: ContentPreview) -> dict[str, str]:
    """``acknowledge`` and ``complete``: the two operations of the handshake."""
    ids: dict[str, Any] = {
        "content_id": preview.content_id,
        "version_id": preview.fields_version_id,
        "preview_id": preview.id,
    }
    return {
        "acknowledge": links.to("acknowledgeSCContentPreview", **ids),
        "complete": links.to("completeSCContentPreview", **ids),
    }


def content_body(links: Links, view: ContentView) -> dict[str, Any]:
    """The content as the captured payloads show it: its details, with the fields
    version as ``fields_version`` (plus ``content_type_version_guid``)."""
    c, fv = view.content, view.fields_version
    assert c.task_id is not None
    here = links.to("getTaskStructuredContent", task_id=c.task_id, content_id=c.id)
    body = mapping.content_details_dict(c, view.content_type, view.version, fv, links, here)
    del body["latest_fields_version"]
    body["fields_version"] = {
        **mapping.fields_version_dict(fv),
        "content_type_version_guid": fv.content_type_version_id,
    }
    return body


def preview_payload(links: Links, view: ContentView, preview: ContentPreview) -> dict[str, Any]:
    """The data of content_preview_requested (cmp-webhooks.md §2.2)."""
    c = view.content
    item = {
        "id": c.id,
        "version_id": preview.fields_version_id,
        "title": c.title,
        "created_at": timestamp(c.created_at),
        "modified_at": timestamp(c.updated_at),
        "content_body": content_body(links, view),
    }
    return {
        "assets": {"structured_contents": [item], **{name: [] for name in ASSET_ARRAYS}},
        "organization": {"id": c.org_id},
        "task": {"id": preview.task_id, "links": {"self": links.to("getTask", id=preview.task_id)}},
        "links": action_links(links, preview),
        "preview_id": preview.id,
    }


# -- requesting --------------------------------------------------------------------------


def request_preview(
    session: Session, links: Links, task: Task, content_id: str, user_id: str | None
) -> ContentPreview:
    """A preview of the task's content at its latest fields version; records
    content_preview_requested and commits."""
    view = task_content(session, task, content_id)
    fv = view.fields_version
    preview = ContentPreview(
        id=new_id(),
        org_id=task.org_id,
        content_id=view.content.id,
        fields_version_id=fv.id,
        task_id=task.id,
        content_hash=fv.content_hash,
        status=REQUESTED,
        requested_by=user_id,
        keyed_previews={},
    )
    session.add(preview)
    session.flush()
    data = preview_payload(links, view, preview)
    record_event(session, "content_preview_requested", data, org_id=task.org_id)
    session.commit()
    return preview


def ext_request_content_preview(
    session: Session, principal: Principal, links: Links, task_id: str, content_id: str
) -> ContentPreview:
    """``POST /ext/v1/tasks/{task_id}/structured-contents/{content_id}/previews``: those
    who may change the task may ask for previews (also of an archived task)."""
    task = load_task(session, principal, task_id, "write")
    return request_preview(session, links, task, content_id, principal.user_id)


def request_preview_as_operator(
    session: Session, links: Links, org_id: str, task_id: str, content_id: str
) -> ContentPreview:
    """``cmpapi tasks preview``: on this machine, no caller (``requested_by`` null)."""
    task = Repository(Task, session, org_id).find(Task.id == task_id)
    if task is None:
        raise NotFound("Task not found")
    return request_preview(session, links, task, content_id, None)


# -- reading -----------------------------------------------------------------------------


def ext_get_content_preview(
    session: Session, principal: Principal, preview_id: str
) -> ContentPreview:
    """One preview, for those who may read its task."""
    preview = Repository(ContentPreview, session, principal.org_id).find(
        ContentPreview.id == preview_id
    )
    if preview is None:
        raise NotFound("Preview not found")
    load_task(session, principal, preview.task_id, "read")
    return preview


def ext_list_content_previews(
    session: Session, principal: Principal, task_id: str, content_id: str
) -> list[ContentPreview]:
    """The previews of a task's content, oldest first (at most the last 100)."""
    task = load_task(session, principal, task_id, "read")
    content = task_content(session, task, content_id).content
    stmt = (
        select(ContentPreview)
        .where(ContentPreview.org_id == task.org_id, ContentPreview.content_id == content.id)
        .order_by(ContentPreview.requested_at.desc(), ContentPreview.id)
        .limit(100)
    )
    return list(reversed(session.scalars(stmt).all()))


# -- the handshake -----------------------------------------------------------------------


def _preview(
    session: Session, principal: Principal, content_id: str, version_id: str, preview_id: str
) -> ContentPreview:
    """The preview the path names (404 unless all three ids agree), for those who may
    change its task (403 for viewers)."""
    preview = Repository(ContentPreview, session, principal.org_id).find(
        ContentPreview.id == preview_id,
        ContentPreview.content_id == content_id,
        ContentPreview.fields_version_id == version_id,
    )
    if preview is None:
        raise NotFound("Preview not found")
    load_task(session, principal, preview.task_id, "write")
    return preview


def acknowledge_sc_content_preview(
    session: Session,
    principal: Principal,
    content_id: str,
    version_id: str,
    preview_id: str,
    body: SCContentPreviewAcknowledgeRequest,
) -> ContentPreview:
    """Acknowledge once, with the content hash of the previewed version."""
    preview = _preview(session, principal, content_id, version_id, preview_id)
    if preview.status != REQUESTED:
        raise Invalid("Invalid preview", {"path.preview_id": ALREADY})
    errors = {}
    if body.content_hash != preview.content_hash:
        errors["content_hash"] = "Not the content hash of the previewed version"
    if not body.acknowledged_by.strip() or len(body.acknowledged_by) > MAX_ACKNOWLEDGED_BY:
        errors["acknowledged_by"] = f"Must be 1 to {MAX_ACKNOWLEDGED_BY} characters"
    if errors:
        raise Invalid("Invalid preview", errors)
    # Conditional on the status still being "requested": of two concurrent
    # acknowledgements, one changes the row and the other is refused.
    done = session.execute(
        update(ContentPreview)
        .where(ContentPreview.id == preview.id, ContentPreview.status == REQUESTED)
        .values(status=ACKNOWLEDGED, acknowledged_by=body.acknowledged_by, acknowledged_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Invalid("Invalid preview", {"path.preview_id": ALREADY})
    session.commit()
    session.refresh(preview)
    return preview


def complete_sc_content_preview(
    session: Session,
    principal: Principal,
    content_id: str,
    version_id: str,
    preview_id: str,
    body: SCContentPreviewCompleteRequest,
) -> ContentPreview:
    """Store the keyed previews of an acknowledged preview."""
    preview = _preview(session, principal, content_id, version_id, preview_id)
    if preview.status == REQUESTED:
        raise Invalid("Invalid preview", {"path.preview_id": "Acknowledge the preview first"})
    preview.keyed_previews = check_keyed_previews(body.keyed_previews)
    preview.status, preview.completed_at = COMPLETED, utcnow()
    session.commit()
    return preview


# -- keyed previews ----------------------------------------------------------------------


def _url(value: str, path: str, errors: dict[str, str]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors[path] = "Must be an http or https URL"
    elif len(value) > MAX_URL:
        errors[path] = f"At most {MAX_URL} characters"
    elif parts.username is not None or parts.password is not None:
        errors[path] = "Must not hold credentials"
    return value


def _entry(path: str, value: Any, errors: dict[str, str]) -> dict[str, Any]:
    if isinstance(value, KeyedPreviewCompletedModel):
        status, url, where = COMPLETED, value.completed, f"{path}.completed"
    elif isinstance(value, KeyedPreviewErrorModel):
        status, url, where = "error", value.error, f"{path}.error"
    else:  # a bare URL: a completed preview with the defaults
        return {"status": COMPLETED, "url": _url(str(value.root), path, errors), **DEFAULTS}
    if len(value.name) > MAX_NAME:
        errors[f"{path}.name"] = f"At most {MAX_NAME} characters"
    if not LOCALE.fullmatch(value.locale):
        errors[f"{path}.locale"] = "Must be a locale such as en_US"
    if not MIME.fullmatch(value.mimeType):
        errors[f"{path}.mimeType"] = "Must be a media type such as text/html"
    if not math.isfinite(value.orderIndex) or abs(value.orderIndex) > MAX_ORDER:
        errors[f"{path}.orderIndex"] = f"Must be a number from -{MAX_ORDER:g} to {MAX_ORDER:g}"
    return {
        "status": status,
        "url": _url(str(url), where, errors),
        "name": value.name,
        "locale": value.locale,
        "mime_type": value.mimeType,
        "order_index": value.orderIndex,
    }


def check_keyed_previews(given: dict[str, Any]) -> dict[str, Any]:
    """The keyed previews as stored, or Invalid naming each bad ``keyed_previews.*``."""
    if not given:
        raise Invalid("Invalid preview", {"keyed_previews": "Give at least one preview"})
    if len(given) > MAX_PREVIEWS:
        raise Invalid("Invalid preview", {"keyed_previews": f"At most {MAX_PREVIEWS} previews"})
    errors: dict[str, str] = {}
    out = {}
    for key, value in given.items():
        if not key.strip() or len(key) > MAX_KEY:
            errors["keyed_previews"] = f"Keys are 1 to {MAX_KEY} characters"
            continue
        out[key] = _entry(f"keyed_previews.{key}", value, errors)
    if errors:
        raise Invalid("Invalid preview", errors)
    return out
