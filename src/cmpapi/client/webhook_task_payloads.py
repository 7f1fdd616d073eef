"""Payloads of the task-side webhook events: tasks, their assets and briefs, content
previews, workflow sub-steps and external work (the rules are in ``webhook_payloads``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmpapi.client.webhook_payloads import EventModel, Ref, SelfLinks, SelfRef


class TaskLinks(EventModel):
    """``{"task": url}``."""

    task: str


class Task(SelfRef):
    """A task reference: ``{"id", "links": {"self"}}``."""


class TaskAssetsLinks(SelfLinks):
    """A task's own URL and its assets' URL."""

    assets: str


class TaskWithAssets(Task):
    """A task reference with its ``assets`` link."""

    links: TaskAssetsLinks


class TaskBriefLinks(SelfLinks):
    """A task's own URL and its brief's URL."""

    brief: str


class TaskWithBrief(Task):
    """A task reference with its ``brief`` link."""

    links: TaskBriefLinks


class TaskFieldsLinks(TaskAssetsLinks):
    """A task's own URL, its assets' and its custom fields'."""

    custom_fields: str


class TaskWithFields(Task):
    """A task reference with its ``assets`` and ``custom_fields`` links."""

    links: TaskFieldsLinks


class TaskData(EventModel):
    """``task_added``, ``task_metadata_modified``, ``task_brief_removed``."""

    task: Task


class TaskRemovedData(EventModel):
    """``task_removed``."""

    task: Ref


class TaskBriefData(EventModel):
    """``task_brief_added``, ``task_brief_modified``."""

    task: TaskWithBrief


class RemovedTaskAsset(Ref):
    """A task's asset without links (``task_asset_removed``)."""

    type: str


class TaskAssetLinks(SelfLinks):
    """A task asset's URL and its task's."""

    task: str


class TaskAsset(RemovedTaskAsset):
    """A task's asset reference."""

    links: TaskAssetLinks


class TaskAssetRemovedData(EventModel):
    """``task_asset_removed``."""

    task: TaskWithAssets
    asset: RemovedTaskAsset


class TaskAssetData(EventModel):
    """``task_asset_added``, ``task_asset_draft_added``, ``task_asset_draft_removed``."""

    task: TaskWithAssets
    asset: TaskAsset


class TaskAssetModifiedData(TaskAssetData):
    """``task_asset_modified``: also what changed (``title``, ``versions``...)."""

    attributes_changed: list[str]


class TaskCustomFieldModifiedData(EventModel):
    """``task_custom_field_modified``: the changed fields (other than label ones)."""

    modified_custom_fields: list[SelfRef]
    task: TaskWithFields


class FieldsVersion(EventModel):
    """The previewed fields version; ``content_hash`` goes into the acknowledgement."""

    content_hash: str
    version_guid: str | None = None
    fields: dict[str, Any] = {}


class PreviewContentBody(EventModel):
    """The previewed structured content (its many other keys are kept as extras)."""

    fields_version: FieldsVersion
    content_type_name: str | None = None
    content_type: dict[str, Any] | None = None


class PreviewContent(Ref):
    """One structured content to preview, at version ``version_id``."""

    version_id: str
    title: str | None
    created_at: datetime
    modified_at: datetime
    content_body: PreviewContentBody


class PreviewAssets(EventModel):
    """The assets to preview, by type: only ``structured_contents`` is typed (cmpapi and
    the captured CMP payload send the others empty)."""

    structured_contents: list[PreviewContent]


class PreviewLinks(EventModel):
    """Where to POST the acknowledgement, then the finished previews."""

    acknowledge: str
    complete: str


class ContentPreviewRequestedData(EventModel):
    """``content_preview_requested``."""

    assets: PreviewAssets
    organization: Ref
    task: Task
    links: PreviewLinks
    preview_id: str | None = None


class SubStepUpdatedData(EventModel):
    """``workflow_sub_step_updated``; ``status`` is started, completed, skipped or modified."""

    status: str
    task: Task
    step: Ref
    sub_step: SelfRef


class SubStepCommentsLinks(SelfLinks):
    """A sub-step's URL and its comments'."""

    comments: str


class CommentedSubStep(SelfRef):
    """A sub-step reference with its ``comments`` link."""

    links: SubStepCommentsLinks


class SubStepCommentRemovedData(EventModel):
    """``workflow_sub_step_comment_removed``: the comment's id only."""

    task: Task
    step: Ref
    sub_step: CommentedSubStep
    comment: Ref


class SubStepCommentData(SubStepCommentRemovedData):
    """``workflow_sub_step_comment_added``, ``workflow_sub_step_comment_modified``."""

    comment: SelfRef


class ExternalStep(Ref):
    """The step holding an external sub-step."""

    links: TaskLinks


class ExternalSubStepLinks(SelfLinks):
    """An external sub-step's URL, its task's and its external work's."""

    task: str
    external_work: str


class ExternalSubStep(Ref):
    """An external sub-step reference."""

    links: ExternalSubStepLinks


class ExternalWorkLinks(SelfLinks):
    """The external work's URL, its task's and its sub-step's."""

    task: str
    sub_step: str


class ExternalWork(EventModel):
    """The external work: ``external_system`` names the system (Jira, Trello...)."""

    external_system: str
    links: ExternalWorkLinks


class ExternalSubStepData(EventModel):
    """``external_sub_step_started``, ``_completed``, ``_modified``."""

    task: TaskWithAssets
    step: ExternalStep
    sub_step: ExternalSubStep
    external_work: ExternalWork


class ExternalCommentSubStepLinks(SelfLinks):
    """An external sub-step's URL, its task's and its comments'."""

    task: str
    comments: str


class ExternalCommentSubStep(Ref):
    """An external sub-step reference, in its comment events."""

    links: ExternalCommentSubStepLinks


class RemovedExternalCommentLinks(TaskLinks):
    """A removed comment's task and sub-step URLs."""

    sub_step: str


class RemovedExternalComment(Ref):
    """A comment removed from an external sub-step."""

    links: RemovedExternalCommentLinks


class ExternalCommentLinks(RemovedExternalCommentLinks):
    """A comment's URL, its task's and its sub-step's."""

    self: str


class ExternalComment(RemovedExternalComment):
    """A comment on an external sub-step."""

    links: ExternalCommentLinks


class ExternalCommentRemovedData(EventModel):
    """``external_sub_step_comment_removed``: no ``self`` link for the comment."""

    task: TaskWithAssets
    step: ExternalStep
    sub_step: ExternalCommentSubStep
    comment: RemovedExternalComment


class ExternalCommentData(ExternalCommentRemovedData):
    """``external_sub_step_comment_added``, ``external_sub_step_comment_modified``."""

    comment: ExternalComment
