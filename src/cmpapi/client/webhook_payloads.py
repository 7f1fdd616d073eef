"""Payloads (``data``) of the CMP webhook events: the shared shapes and the Library,
campaign, publish, work request and calendar event ones (the task side is in
``webhook_task_payloads``; the events themselves in ``events``).

Every delivery is the CMP envelope ``{"event_name": ..., "data": {...}}``
(shared/reference/cmp-webhooks.md). ``data`` holds references, not objects: ids plus
``links`` to the Open API; follow ``links.self`` to read the current state.

What is validated: the fields the CMP documents or has been seen to send are required and
typed. Fields that older CMP versions lack, and the ones cmpapi adds, are optional. Enum-like
values (asset ``type``, sub-step ``status``) are plain strings: the CMP calls new enum
values a non-breaking change, and a receiver must not start rejecting events when one
appears.

Unknown fields are kept (``extra="allow"``), not dropped: the CMP adds payload fields
without notice (also non-breaking for it), and a receiver can read them from
``model_extra`` or ``model_dump()`` before this SDK names them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventModel(BaseModel):
    """Base of every event and payload model: unknown fields kept, instances immutable."""

    # extra="allow" rather than "ignore": see the module docstring.
    model_config = ConfigDict(extra="allow", frozen=True)


# -- shapes shared by several events ---------------------------------------------------------


class SelfLinks(EventModel):
    """``{"self": url}``."""

    self: str


class Ref(EventModel):
    """An entity reference without links (``{"id"}``), as in the ``*_removed`` events."""

    id: str


class SelfRef(Ref):
    """``{"id", "links": {"self"}}``."""

    links: SelfLinks


# -- data of each event (the task side: webhook_task_payloads) ---------------------------------


class SourceLinks(EventModel):
    """``{"self": url | null}``."""

    self: str | None


class AssetSource(EventModel):
    """Where a Library asset came from: a task (``type: "task"``), or all null."""

    id: str | None
    type: str | None
    links: SourceLinks


class RemovedLibraryAsset(Ref):
    """A Library asset without links (``asset_removed``)."""

    owner_organization_id: str
    type: str  # article, image, video, raw_file, structured_content


class LibraryAssetLinks(SelfLinks):
    """A Library asset's URL at its type's endpoint; ``renditions`` on
    ``asset_renditions_created``."""

    renditions: str | None = None


class LibraryAsset(RemovedLibraryAsset):
    """A Library asset reference."""

    links: LibraryAssetLinks


class AddedLibraryAsset(LibraryAsset):
    """A Library asset with its ``source`` (absent from older CMP versions)."""

    source: AssetSource | None = None


class AssetAddedData(EventModel):
    """``asset_added``."""

    asset: AddedLibraryAsset


class LibraryAssetData(EventModel):
    """``asset_modified``, ``asset_renditions_created``."""

    asset: LibraryAsset


class AssetRemovedData(EventModel):
    """``asset_removed``."""

    asset: RemovedLibraryAsset


class CampaignLinks(SelfLinks):
    """A campaign's URL; ``brief`` in the brief events (not in ``_removed``);
    ``work_request`` in ``campaign_added`` (null unless made from a work request)."""

    brief: str | None = None
    work_request: str | None = None


class Campaign(Ref):
    """A campaign reference."""

    links: CampaignLinks


class CampaignData(EventModel):
    """The five campaign events."""

    campaign: Campaign


class PublishedAsset(Ref):
    """An asset in a publish event (its type's fields in the subclasses); only articles
    have a documented shape, the others are what cmpapi sends."""

    title: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    labels: list[Any] = []
    links: SelfLinks | None = None


class PublishedArticle(PublishedAsset):
    """A published article with its HTML body (the fields the CMP's docs list)."""

    title: str | None
    created_at: datetime
    modified_at: datetime
    html_body: str
    images: list[dict[str, Any]] = []  # url, caption, mime_type, width... (docs cut short)


class PublishedFile(PublishedAsset):
    """A published image, video or raw file (fetch the bytes through ``links.self``)."""

    mime_type: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None


class PublishedContent(PublishedAsset):
    """A published structured content."""

    content_body: dict[str, Any] | None = None


class PublishedAssets(EventModel):
    """The assets of a publish event, by type."""

    articles: list[PublishedArticle] = []
    images: list[PublishedFile] = []
    videos: list[PublishedFile] = []
    raw_files: list[PublishedFile] = []
    structured_contents: list[PublishedContent] = []


class PublishingEventLinks(EventModel):
    """Where to POST the publishing metadata (status, public URL) of each asset."""

    publishing_metadata: str
    self: str | None = None


class PublishingEventRef(EventModel):
    """The publishing event behind a publish event."""

    id: str | None = None
    links: PublishingEventLinks


class PublishingChannel(Ref):
    """The webhook-type publishing channel (sent by cmpapi)."""

    name: str | None = None


class PublishData(EventModel):
    """``asset_published``, ``asset_synced``, ``asset_unpublished``."""

    assets: PublishedAssets
    organization: Ref
    publishing_event: PublishingEventRef
    publishing_channel: PublishingChannel | None = None


class WorkRequestLinks(SelfLinks):
    """A work request's URL and its sub-resources'."""

    comments: str
    campaigns: str
    attachments: str
    creative_assets: str


class WorkRequest(Ref):
    """A work request reference; ``template`` is absent from older CMP versions."""

    template: SelfRef | None = None
    links: WorkRequestLinks


class WorkRequestData(EventModel):
    """``work_request_added``."""

    work_request: WorkRequest


class WorkRequestModifiedData(WorkRequestData):
    """``work_request_modified``: also what changed (``status``, ``assignees``...)."""

    modified_fields: list[str] = []


class WorkRequestRemovedData(EventModel):
    """``work_request_removed``."""

    work_request: Ref


class CommentedWorkRequestLinks(SelfLinks):
    """A work request's URL and its comments'."""

    comments: str


class CommentedWorkRequest(Ref):
    """A work request reference in its comment events."""

    links: CommentedWorkRequestLinks


class WorkRequestCommentRemovedData(EventModel):
    """``work_request_comment_removed``: the comment's id only."""

    work_request: CommentedWorkRequest
    comment: Ref


class WorkRequestCommentData(WorkRequestCommentRemovedData):
    """``work_request_comment_added``, ``work_request_comment_modified``."""

    comment: SelfRef


class CalendarEventData(EventModel):
    """``event_added``, ``event_modified``: a calendar event."""

    event: SelfRef
