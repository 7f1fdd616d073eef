"""Publishing rows -> wire models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.publishing.tables import (
    PublishingEvent,
    PublishingEventAsset,
    PublishingMetadata,
)
from cmpapi.wire import PublishingEventMetadataBulkCreateResponseErrorErrorCode as ErrorCode
from cmpapi.wire import (
    PublishingEventMetadataResponse,
    PublishingEventResponse,
)

# asset type -> (the operation serving a task asset of that type, its asset parameter)
_TASK_ASSET_OPS = {
    "article": ("getTaskArticle", "article_id"),
    "image": ("getTaskImage", "image_id"),
    "video": ("getTaskVideo", "video_id"),
    "raw_file": ("getTaskRawFile", "raw_file_id"),
    "structured_content": ("getTaskStructuredContent", "content_id"),
}
# asset type -> the operation serving a library asset of that type
_LIBRARY_OPS = {
    "article": "getArticle",
    "image": "getImage",
    "video": "getVideo",
    "raw_file": "getRawFile",
    "structured_content": "getStructuredContent",
}


@dataclass(frozen=True, slots=True)
class EventView:
    """A publishing event with its assets (in event order) and metadata (oldest first)."""

    event: PublishingEvent
    assets: Sequence[PublishingEventAsset]
    metadata: Sequence[PublishingMetadata]

    def asset(self, asset_id: str) -> PublishingEventAsset | None:
        return next((a for a in self.assets if a.asset_id == asset_id), None)


def asset_url(links: Links, row: PublishingEventAsset) -> str:
    """The URL of an event's asset: its task-scoped getter (a library getter for an asset
    no task carries)."""
    if row.task_id is None:
        return links.to(_LIBRARY_OPS[row.asset_type], id=row.asset_id)
    operation, param = _TASK_ASSET_OPS[row.asset_type]
    params: dict[str, Any] = {"task_id": row.task_id, param: row.asset_id}
    return links.to(operation, **params)


def metadata_url(links: Links, row: PublishingMetadata) -> str:
    return links.to(
        "getPublishingEventAssetMetadata",
        publishing_event_id=row.event_id,
        asset_id=row.asset_id,
        publishing_metadata_id=row.id,
    )


def channel_item(channel: Any) -> dict[str, Any]:
    """An item of listPublishingChannels as plain data (``page_response`` checks it), from
    a ``channels.LIST_COLUMNS`` row or a PublishingChannel."""
    return {"id": channel.id, "name": channel.name, "disabled": channel.disabled}


def event_response(view: EventView, links: Links) -> PublishingEventResponse:
    """getPublishingEvent: each asset with the ids and links of its metadata."""
    event_id = view.event.id
    assets = [
        {
            "id": row.asset_id,
            "type": row.asset_type,
            "links": {"self": asset_url(links, row)},
            "publishing_metadata": [
                {"id": m.id, "links": {"self": metadata_url(links, m)}}
                for m in view.metadata
                if m.asset_id == row.asset_id
            ],
        }
        for row in view.assets
    ]
    return PublishingEventResponse.model_validate(
        {
            "id": event_id,
            "assets": assets,
            "links": {
                "self": links.to("getPublishingEvent", publishing_event_id=event_id),
                "publishing_metadata": links.to(
                    "listPublishingEventMetadata", publishing_event_id=event_id
                ),
            },
        }
    )


def metadata_response(
    row: PublishingMetadata, asset: PublishingEventAsset, links: Links
) -> PublishingEventMetadataResponse:
    """One publishing metadata item (``locale`` ``""`` is ``null``)."""
    updated = row.publishing_destination_updated_at
    return PublishingEventMetadataResponse.model_validate(
        {
            "id": row.id,
            "asset_id": row.asset_id,
            "asset_type": row.asset_type,
            "status": row.status,
            "status_message": row.status_message,
            "locale": row.locale or None,
            "public_url": row.public_url,
            "publishing_destination_updated_at": timestamp(updated) if updated else None,
            "links": {
                "self": metadata_url(links, row),
                "publishing_event": links.to(
                    "getPublishingEvent", publishing_event_id=row.event_id
                ),
                "asset": asset_url(links, asset),
            },
        }
    )


def metadata_list(view: EventView, rows: Sequence[PublishingMetadata], links: Links) -> list[Any]:
    """Metadata items of one event."""
    out = []
    for row in rows:
        asset = view.asset(row.asset_id)
        if asset is not None:  # always: metadata is only stored for the event's assets
            out.append(metadata_response(row, asset, links))
    return out


# The spec's error item requires two keys it does not define, ``"status message"`` (with
# a space) and ``"type"``; the item is open, so cmpapi sends them: the item's
# status_message as posted and the asset's type in the event (``null`` when unknown). The
# contract harness drops such requirements, a client generated strictly from the spec
# does not (docs/compat.md, Publishing). The generated model cannot carry them, hence
# these two models of the same shape.
class BulkCreateError(BaseModel):
    """An item of ``errors``."""

    model_config = ConfigDict(populate_by_name=True)

    asset_id: str
    error_code: ErrorCode
    locale: str | None
    message: str
    status_message: str | None = Field(serialization_alias="status message")
    type: str | None


class BulkCreateResponse(BaseModel):
    """bulkCreatePublishingEventMetadata's answer."""

    data: list[Any]  # PublishingEventMetadataResponse
    errors: list[BulkCreateError]


def bulk_error(
    asset_id: str,
    code: str,
    locale: str | None,
    message: str,
    asset_type: str | None,
    status_message: str | None,
) -> BulkCreateError:
    """One refused item."""
    return BulkCreateError(
        asset_id=asset_id,
        error_code=ErrorCode(code),
        locale=locale,
        message=message,
        status_message=status_message,
        type=asset_type,
    )
