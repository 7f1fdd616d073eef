"""Deleting what the CMP web app deletes and the API cannot: a task, an asset of a task, a
draft of a task asset (``task_removed``, ``task_asset_removed``,
``task_asset_draft_removed``). Served under /ext/v1 (``server/ext/web_app.py``).

Each function commits once with its event and returns the storage keys of the files
nobody holds any more, for the caller to delete after the commit (a failed commit keeps
them)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import utcnow
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources import service as subresources
from cmpapi.server.resources.tasks import asset_events
from cmpapi.server.resources.tasks.asset_service import load_asset
from cmpapi.server.resources.tasks.asset_tables import (
    TaskAsset,
    TaskAssetComment,
    TaskAssetCommentAttachment,
    TaskAssetDraft,
)
from cmpapi.server.resources.tasks.events import record_task_event
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.server.resources.tasks.service import load_task


def _asset_keys(session: Session, *where: ColumnElement[bool]) -> list[str]:
    """The stored files of the task assets matching ``where``: their drafts' (the asset's
    own file is its latest draft's) and their comments' attachments."""
    assets = select(TaskAsset.id).where(*where)
    drafts = select(TaskAssetDraft.storage_key).where(TaskAssetDraft.asset_id.in_(assets))
    comments = select(TaskAssetComment.id).where(TaskAssetComment.asset_id.in_(assets))
    files = select(TaskAssetCommentAttachment.storage_key).where(
        TaskAssetCommentAttachment.comment_id.in_(comments)
    )
    return list(session.scalars(drafts)) + list(session.scalars(files))


def delete_task(session: Session, principal: Principal, links: Links, task_id: str) -> list[str]:
    """Delete a task with everything it holds: steps, assets and their drafts, comments,
    attachments, brief, fields (the rows go with the task or with ``subresources.purge``).
    Needs ``tasks:delete`` (admins and members). Records ``task_removed``."""
    task = load_task(session, principal, task_id, "delete")
    keys = _asset_keys(session, TaskAsset.task_id == task.id)
    keys += subresources.purge(session, TASK, task.org_id, task.id)
    record_task_event(session, links, "task_removed", task)
    session.delete(task)
    session.commit()
    return sorted(set(keys))


def remove_task_asset(
    session: Session, principal: Principal, links: Links, task_id: str, asset_id: str
) -> list[str]:
    """Remove an asset from its task (with its drafts and comments), any type.
    Records ``task_asset_removed``."""
    asset = load_asset(session, principal, task_id, asset_id, "write")
    keys = _asset_keys(session, TaskAsset.id == asset.id)
    record_event(
        session,
        "task_asset_removed",
        asset_events.removed_payload(links, asset),
        org_id=asset.org_id,
    )
    session.execute(delete(TaskAsset).where(TaskAsset.id == asset.id))
    session.commit()
    return sorted(set(keys))


def remove_task_asset_draft(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    asset_id: str,
    draft_id: str,
) -> list[str]:
    """Remove one draft of a file asset; the only draft cannot go (422: remove the asset).
    Removing the newest draft makes the previous one the asset's file again, and its
    number the asset's latest. Records ``task_asset_draft_removed``."""
    asset = load_asset(session, principal, task_id, asset_id, "write")
    drafts = session.scalars(
        select(TaskAssetDraft)
        .where(TaskAssetDraft.asset_id == asset.id)
        .order_by(TaskAssetDraft.draft_number)
    ).all()
    draft = next((d for d in drafts if d.id == draft_id), None)
    if draft is None:
        raise NotFound("Draft not found")
    if len(drafts) == 1:
        message = "The asset's only draft cannot be removed: remove the asset"
        raise Invalid(message, {"draft_id": message})
    keys = [*_draft_comment_keys(session, draft.id), draft.storage_key]
    if draft is drafts[-1]:
        previous = drafts[-2]
        asset.draft_count, asset.title = previous.draft_number, previous.title
        asset.mime_type, asset.file_extension = previous.mime_type, previous.file_extension
        asset.file_size, asset.storage_key = previous.file_size, previous.storage_key
        asset.width, asset.height = previous.width, previous.height
        asset.modified_at = utcnow()
    session.delete(draft)
    session.flush()
    data = asset_events.payload(links, asset)
    record_event(session, "task_asset_draft_removed", data, org_id=asset.org_id)
    session.commit()
    return keys


def _draft_comment_keys(session: Session, draft_id: str) -> list[str]:
    comments = select(TaskAssetComment.id).where(TaskAssetComment.draft_id == draft_id)
    return list(
        session.scalars(
            select(TaskAssetCommentAttachment.storage_key).where(
                TaskAssetCommentAttachment.comment_id.in_(comments)
            )
        )
    )
