"""Typed CMP webhook events: one model per event name, in one discriminated union on
``event_name`` (the payload shapes are in ``webhook_payloads``)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import Field, PrivateAttr

from cmpapi.client.webhook_payloads import (
    AssetAddedData,
    AssetRemovedData,
    CalendarEventData,
    CampaignData,
    EventModel,
    LibraryAssetData,
    PublishData,
    Ref,
    WorkRequestCommentData,
    WorkRequestCommentRemovedData,
    WorkRequestData,
    WorkRequestModifiedData,
    WorkRequestRemovedData,
)
from cmpapi.client.webhook_task_payloads import (
    ContentPreviewRequestedData,
    ExternalCommentData,
    ExternalCommentRemovedData,
    ExternalSubStepData,
    SubStepCommentData,
    SubStepCommentRemovedData,
    SubStepUpdatedData,
    TaskAssetData,
    TaskAssetModifiedData,
    TaskAssetRemovedData,
    TaskBriefData,
    TaskCustomFieldModifiedData,
    TaskData,
    TaskRemovedData,
)

_D = TypeVar("_D")


class PingWebhook(Ref):
    """The webhook a test delivery was sent for."""

    name: str


class PingData(EventModel):
    """``ping`` (cmpapi's test delivery)."""

    webhook: PingWebhook


# -- the events --------------------------------------------------------------------------------


class BaseEvent(EventModel, Generic[_D]):
    """A webhook event: ``event_name`` and its ``data``."""

    event_name: str
    data: _D
    _delivery_id: str | None = PrivateAttr(default=None)

    @property
    def delivery_id(self) -> str | None:
        """The delivery's ``webhook-id`` header when the event came through ``webhook_app``
        from cmpapi (the same for every retry of one event to one webhook: deduplicate on
        it); None otherwise (the CMP sends no such header)."""
        return self._delivery_id


class UnknownEvent(BaseEvent[Any]):
    """An event this SDK does not know yet (the CMP adds events): ``data`` as parsed JSON."""


class AssetAddedEvent(BaseEvent[AssetAddedData]):
    """An asset entered the Library (upload, or a completed task: ``asset.source``)."""

    event_name: Literal["asset_added"]


class AssetModifiedEvent(BaseEvent[LibraryAssetData]):
    """A Library asset's title, description, labels, folder or versions changed."""

    event_name: Literal["asset_modified"]


class AssetRemovedEvent(BaseEvent[AssetRemovedData]):
    """An asset left the Library."""

    event_name: Literal["asset_removed"]


class AssetRenditionsCreatedEvent(BaseEvent[LibraryAssetData]):
    """Renditions of a Library asset are ready."""

    event_name: Literal["asset_renditions_created"]


class TaskAddedEvent(BaseEvent[TaskData]):
    """A task was created."""

    event_name: Literal["task_added"]


class TaskRemovedEvent(BaseEvent[TaskRemovedData]):
    """A task was deleted."""

    event_name: Literal["task_removed"]


class TaskMetadataModifiedEvent(BaseEvent[TaskData]):
    """A task's title, campaign, dates, state or a label-type field changed."""

    event_name: Literal["task_metadata_modified"]


class TaskBriefAddedEvent(BaseEvent[TaskBriefData]):
    """A brief was added to a task."""

    event_name: Literal["task_brief_added"]


class TaskBriefRemovedEvent(BaseEvent[TaskData]):
    """A task's brief was removed."""

    event_name: Literal["task_brief_removed"]


class TaskBriefModifiedEvent(BaseEvent[TaskBriefData]):
    """A task's brief was edited."""

    event_name: Literal["task_brief_modified"]


class TaskAssetAddedEvent(BaseEvent[TaskAssetData]):
    """An asset was added to a task."""

    event_name: Literal["task_asset_added"]


class TaskAssetRemovedEvent(BaseEvent[TaskAssetRemovedData]):
    """An asset was removed from a task."""

    event_name: Literal["task_asset_removed"]


class TaskAssetModifiedEvent(BaseEvent[TaskAssetModifiedData]):
    """A task asset's title, labels or versions changed (``attributes_changed``)."""

    event_name: Literal["task_asset_modified"]


class TaskAssetDraftAddedEvent(BaseEvent[TaskAssetData]):
    """A new draft of a task's image, video or raw file."""

    event_name: Literal["task_asset_draft_added"]


class TaskAssetDraftRemovedEvent(BaseEvent[TaskAssetData]):
    """A draft of a task asset was removed."""

    event_name: Literal["task_asset_draft_removed"]


class TaskCustomFieldModifiedEvent(BaseEvent[TaskCustomFieldModifiedData]):
    """Values of a task's fields other than label-type ones changed."""

    event_name: Literal["task_custom_field_modified"]


class ContentPreviewRequestedEvent(BaseEvent[ContentPreviewRequestedData]):
    """Someone asked for a preview of a structured content: acknowledge, then complete."""

    event_name: Literal["content_preview_requested"]


class WorkflowSubStepUpdatedEvent(BaseEvent[SubStepUpdatedData]):
    """A sub-step was started, completed, skipped, reassigned or given a due date."""

    event_name: Literal["workflow_sub_step_updated"]


class WorkflowSubStepCommentAddedEvent(BaseEvent[SubStepCommentData]):
    """A top-level comment was added on a sub-step."""

    event_name: Literal["workflow_sub_step_comment_added"]


class WorkflowSubStepCommentModifiedEvent(BaseEvent[SubStepCommentData]):
    """A top-level comment on a sub-step was edited."""

    event_name: Literal["workflow_sub_step_comment_modified"]


class WorkflowSubStepCommentRemovedEvent(BaseEvent[SubStepCommentRemovedData]):
    """A top-level comment on a sub-step was removed."""

    event_name: Literal["workflow_sub_step_comment_removed"]


class CampaignAddedEvent(BaseEvent[CampaignData]):
    """A campaign was created (``links.work_request``: the request it came from)."""

    event_name: Literal["campaign_added"]


class CampaignMetadataModifiedEvent(BaseEvent[CampaignData]):
    """A campaign's title, description, dates, archive state, labels or owner changed."""

    event_name: Literal["campaign_metadata_modified"]


class CampaignBriefAddedEvent(BaseEvent[CampaignData]):
    """A brief was added to a campaign."""

    event_name: Literal["campaign_brief_added"]


class CampaignBriefModifiedEvent(BaseEvent[CampaignData]):
    """A campaign's brief was edited."""

    event_name: Literal["campaign_brief_modified"]


class CampaignBriefRemovedEvent(BaseEvent[CampaignData]):
    """A campaign's brief was removed."""

    event_name: Literal["campaign_brief_removed"]


class AssetPublishedEvent(BaseEvent[PublishData]):
    """Assets were published to a webhook-type channel: report their status back."""

    event_name: Literal["asset_published"]


class AssetUnpublishedEvent(BaseEvent[PublishData]):
    """Published assets were withdrawn from a webhook-type channel."""

    event_name: Literal["asset_unpublished"]


class AssetSyncedEvent(BaseEvent[PublishData]):
    """Published assets were sent again to a webhook-type channel."""

    event_name: Literal["asset_synced"]


class WorkRequestAddedEvent(BaseEvent[WorkRequestData]):
    """A work request was submitted."""

    event_name: Literal["work_request_added"]


class WorkRequestModifiedEvent(BaseEvent[WorkRequestModifiedData]):
    """A work request's status, assignees or form fields changed (``modified_fields``)."""

    event_name: Literal["work_request_modified"]


class WorkRequestRemovedEvent(BaseEvent[WorkRequestRemovedData]):
    """A work request was deleted."""

    event_name: Literal["work_request_removed"]


class WorkRequestCommentAddedEvent(BaseEvent[WorkRequestCommentData]):
    """A comment was posted on a work request (also by integrations: filter your own)."""

    event_name: Literal["work_request_comment_added"]


class WorkRequestCommentModifiedEvent(BaseEvent[WorkRequestCommentData]):
    """A comment on a work request was edited."""

    event_name: Literal["work_request_comment_modified"]


class WorkRequestCommentRemovedEvent(BaseEvent[WorkRequestCommentRemovedData]):
    """A comment on a work request was removed."""

    event_name: Literal["work_request_comment_removed"]


class ExternalSubStepStartedEvent(BaseEvent[ExternalSubStepData]):
    """A task reached an external sub-step: start the work in ``external_system``."""

    event_name: Literal["external_sub_step_started"]


class ExternalSubStepCompletedEvent(BaseEvent[ExternalSubStepData]):
    """An external sub-step was completed."""

    event_name: Literal["external_sub_step_completed"]


class ExternalSubStepModifiedEvent(BaseEvent[ExternalSubStepData]):
    """An external sub-step's assignee or due date changed."""

    event_name: Literal["external_sub_step_modified"]


class ExternalSubStepCommentAddedEvent(BaseEvent[ExternalCommentData]):
    """A top-level comment was added on an external sub-step."""

    event_name: Literal["external_sub_step_comment_added"]


class ExternalSubStepCommentModifiedEvent(BaseEvent[ExternalCommentData]):
    """A top-level comment on an external sub-step was edited."""

    event_name: Literal["external_sub_step_comment_modified"]


class ExternalSubStepCommentRemovedEvent(BaseEvent[ExternalCommentRemovedData]):
    """A top-level comment on an external sub-step was removed."""

    event_name: Literal["external_sub_step_comment_removed"]


class EventAddedEvent(BaseEvent[CalendarEventData]):
    """A calendar event was created."""

    event_name: Literal["event_added"]


class EventModifiedEvent(BaseEvent[CalendarEventData]):
    """A calendar event's title, description, all-day flag or dates changed."""

    event_name: Literal["event_modified"]


class PingEvent(BaseEvent[PingData]):
    """cmpapi's test delivery (``cmpapi webhooks ping``); the CMP has no such event."""

    event_name: Literal["ping"]


KnownEvent = Annotated[
    AssetAddedEvent
    | AssetModifiedEvent
    | AssetRemovedEvent
    | AssetRenditionsCreatedEvent
    | TaskAddedEvent
    | TaskRemovedEvent
    | TaskMetadataModifiedEvent
    | TaskBriefAddedEvent
    | TaskBriefRemovedEvent
    | TaskBriefModifiedEvent
    | TaskAssetAddedEvent
    | TaskAssetRemovedEvent
    | TaskAssetModifiedEvent
    | TaskAssetDraftAddedEvent
    | TaskAssetDraftRemovedEvent
    | TaskCustomFieldModifiedEvent
    | ContentPreviewRequestedEvent
    | WorkflowSubStepUpdatedEvent
    | WorkflowSubStepCommentAddedEvent
    | WorkflowSubStepCommentModifiedEvent
    | WorkflowSubStepCommentRemovedEvent
    | CampaignAddedEvent
    | CampaignMetadataModifiedEvent
    | CampaignBriefAddedEvent
    | CampaignBriefModifiedEvent
    | CampaignBriefRemovedEvent
    | AssetPublishedEvent
    | AssetUnpublishedEvent
    | AssetSyncedEvent
    | WorkRequestAddedEvent
    | WorkRequestModifiedEvent
    | WorkRequestRemovedEvent
    | WorkRequestCommentAddedEvent
    | WorkRequestCommentModifiedEvent
    | WorkRequestCommentRemovedEvent
    | ExternalSubStepStartedEvent
    | ExternalSubStepCompletedEvent
    | ExternalSubStepModifiedEvent
    | ExternalSubStepCommentAddedEvent
    | ExternalSubStepCommentModifiedEvent
    | ExternalSubStepCommentRemovedEvent
    | EventAddedEvent
    | EventModifiedEvent
    | PingEvent,
    Field(discriminator="event_name"),
]
"""Every event this SDK types, discriminated on ``event_name`` (usable as a field type)."""

Event = KnownEvent | UnknownEvent
"""What ``parse_event`` returns."""

# event name -> its model (the 43 CMP events and cmpapi's ping)
EVENT_TYPES: dict[str, type[BaseEvent[Any]]] = {
    get_args(cls.model_fields["event_name"].annotation)[0]: cls
    for cls in get_args(get_args(KnownEvent)[0])
}
EVENT_NAMES: frozenset[str] = frozenset(EVENT_TYPES) - {"ping"}
"""The 43 CMP event names."""
