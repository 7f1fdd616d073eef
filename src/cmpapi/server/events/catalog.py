"""The 43 CMP webhook event names (reference: shared/reference/cmp-webhooks.md §2)."""

from __future__ import annotations

LIBRARY = ("asset_added", "asset_modified", "asset_removed", "asset_renditions_created")
TASK = (
    "task_added",
    "task_removed",
    "task_metadata_modified",
    "task_brief_added",
    "task_brief_removed",
    "task_brief_modified",
    "task_asset_added",
    "task_asset_removed",
    "task_asset_modified",
    "task_asset_draft_added",
    "task_asset_draft_removed",
    "task_custom_field_modified",
    "content_preview_requested",
    "workflow_sub_step_updated",
    "workflow_sub_step_comment_added",
    "workflow_sub_step_comment_modified",
    "workflow_sub_step_comment_removed",
)
CAMPAIGN = (
    "campaign_added",
    "campaign_metadata_modified",
    "campaign_brief_added",
    "campaign_brief_modified",
    "campaign_brief_removed",
)
PUBLISH = ("asset_published", "asset_unpublished", "asset_synced")
WORK_REQUEST = (
    "work_request_added",
    "work_request_modified",
    "work_request_removed",
    "work_request_comment_added",
    "work_request_comment_modified",
    "work_request_comment_removed",
)
EXTERNAL_WORK = (
    "external_sub_step_started",
    "external_sub_step_completed",
    "external_sub_step_modified",
    "external_sub_step_comment_added",
    "external_sub_step_comment_modified",
    "external_sub_step_comment_removed",
)
EVENT = ("event_added", "event_modified")

GROUPS: dict[str, tuple[str, ...]] = {
    "Library": LIBRARY,
    "Task": TASK,
    "Campaign": CAMPAIGN,
    "Publish": PUBLISH,
    "Work request": WORK_REQUEST,
    "External work management": EXTERNAL_WORK,
    "Event": EVENT,
}
EVENT_NAMES: frozenset[str] = frozenset(name for group in GROUPS.values() for name in group)
