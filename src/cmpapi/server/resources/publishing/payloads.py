"""Webhook payloads of the publish events (shared/reference/cmp-webhooks.md §2.4):
``asset_published``, ``asset_synced`` and ``asset_unpublished`` share one envelope.

``data.assets`` groups the event's assets by type (``articles``, ``images``, ``videos``,
``raw_files``, ``structured_contents``), each with its content: an article's
``html_body``, a file's metadata. Files are reached through ``links.self`` (the task
asset's getter signs a fresh download URL): a signed URL in the payload would expire
before a late redelivery. ``publishing_channel`` names the channel, so a receiver serving
several channels knows which one is meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.labels.service import load_label_names, resource_labels
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.publishing.tables import PublishingChannel, PublishingEvent
from cmpapi.server.resources.tasks.asset_events import asset_self
from cmpapi.server.resources.tasks.asset_tables import TaskAsset

# asset type -> its group in ``data.assets`` (every group is always present)
GROUPS = {
    "article": "articles",
    "image": "images",
    "video": "videos",
    "raw_file": "raw_files",
    "structured_content": "structured_contents",
}


def event_ref(links: Links, event: PublishingEvent) -> dict[str, Any]:
    """``{"id", "links": {"self", "publishing_metadata"}}``."""
    return {
        "id": event.id,
        "links": {
            "self": links.to("getPublishingEvent", publishing_event_id=event.id),
            "publishing_metadata": links.to(
                "listPublishingEventMetadata", publishing_event_id=event.id
            ),
        },
    }


def _asset(links: Links, asset: TaskAsset, labels: list[Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": asset.id,
        "title": asset.title,
        "created_at": timestamp(asset.created_at),
        "modified_at": timestamp(asset.modified_at),
        "labels": labels,
        "links": {"self": asset_self(links, asset.task_id, asset.id, asset.type)},
    }
    if asset.type == "article":
        item |= {"html_body": asset.html_body or "", "images": []}
    else:
        item |= {"mime_type": asset.mime_type, "file_size": asset.file_size}
        if asset.type in ("image", "video"):
            item |= {"width": asset.width, "height": asset.height}
    return item


def payload(
    session: Session,
    links: Links,
    channel: PublishingChannel,
    event: PublishingEvent,
    assets: Sequence[TaskAsset],
) -> dict[str, Any]:
    """The ``data`` of a publish event carrying ``assets``."""
    names = load_label_names(session, event.org_id, (v for a in assets for v in a.labels or []))
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in GROUPS.values()}
    for asset in assets:
        labels = resource_labels(asset.labels or [], names)
        groups[GROUPS[asset.type]].append(_asset(links, asset, labels))
    return {
        "assets": groups,
        "organization": {"id": event.org_id},
        "publishing_event": event_ref(links, event),
        "publishing_channel": {"id": channel.id, "name": channel.name},
    }


def record_publish_event(
    session: Session,
    links: Links,
    action: str,
    channel: PublishingChannel,
    event: PublishingEvent,
    assets: Sequence[TaskAsset],
) -> None:
    """``asset_published`` / ``asset_synced`` / ``asset_unpublished`` (``action``)."""
    data = payload(session, links, channel, event, assets)
    record_event(session, f"asset_{action}", data, org_id=event.org_id)
