"""Webhook payloads of task asset events (shared/reference/cmp-webhooks.md §2.2).

``task_asset_added`` (addAssetToTask, addStructuredContentToTask),
``task_asset_draft_added`` (addDraftToTaskAsset), ``task_asset_modified`` (with
``attributes_changed``) and ``task_asset_removed`` (deleteTaskStructuredContent, the one
operation that removes a task asset) are recorded. cmpapi has no operation that removes a
draft, so ``task_asset_draft_removed`` is never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.server.resources.tasks.events import task_ref

# asset type -> the task-scoped operation serving an asset of that type and the name its
# path gives the asset
_TYPE_OPERATIONS = {
    "image": ("getTaskImage", "image_id"),
    "video": ("getTaskVideo", "video_id"),
    "raw_file": ("getTaskRawFile", "raw_file_id"),
    "article": ("getTaskArticle", "article_id"),
    "structured_content": ("getTaskStructuredContent", "content_id"),
}


def asset_self(links: Links, task_id: str, asset_id: str, type_: str) -> str:
    """``{api}/tasks/{tid}/images/{aid}`` (the task-scoped getter of the asset's type)."""
    operation, name = _TYPE_OPERATIONS[type_]
    ids: dict[str, Any] = {"task_id": task_id, name: asset_id}
    return links.to(operation, **ids)


def payload(links: Links, asset: TaskAsset) -> dict[str, Any]:
    """The data of task_asset_added and task_asset_draft_added."""
    return {
        "task": task_ref(links, asset.task_id, "assets"),
        "asset": {
            "id": asset.id,
            "type": asset.type,
            "links": {
                "self": asset_self(links, asset.task_id, asset.id, asset.type),
                "task": links.to("getTask", id=asset.task_id),
            },
        },
    }


def removed_payload(links: Links, asset: TaskAsset) -> dict[str, Any]:
    """The data of task_asset_removed: the asset without links."""
    return {
        "task": task_ref(links, asset.task_id, "assets"),
        "asset": {"id": asset.id, "type": asset.type},
    }


def record_asset_added(session: Session, links: Links, asset: TaskAsset) -> None:
    """task_asset_added."""
    record_event(session, "task_asset_added", payload(links, asset), org_id=asset.org_id)


def record_asset_removed(session: Session, links: Links, asset: TaskAsset) -> None:
    """task_asset_removed (the asset without links)."""
    data = removed_payload(links, asset)
    record_event(session, "task_asset_removed", data, org_id=asset.org_id)


def record_draft_added(session: Session, links: Links, asset: TaskAsset) -> None:
    """task_asset_draft_added (images, videos and raw files only: articles have no drafts)."""
    record_event(session, "task_asset_draft_added", payload(links, asset), org_id=asset.org_id)


def record_asset_modified(
    session: Session, links: Links, asset: TaskAsset, attributes: Sequence[str]
) -> None:
    """task_asset_modified; ``attributes_changed`` names what changed (``title``,
    ``versions``, ``fields``)."""
    data = {**payload(links, asset), "attributes_changed": list(attributes)}
    record_event(session, "task_asset_modified", data, org_id=asset.org_id)
