"""Task metadata rows -> wire models: brief, URLs and publishing intents (attachments are
the shared ``subresources.mapping.attachment``)."""

from __future__ import annotations

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.subresources import mapping
from cmpapi.server.resources.subresources.tables import Attachment, Brief
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.wire import TaskBriefResponse, TaskPublishingIntentResponse, TaskUrlResponse


def brief_response(brief: Brief, links: Links) -> TaskBriefResponse:
    """getTaskBrief."""
    return mapping.brief(TaskBriefResponse, brief, links, TASK)


def url_response(row: Attachment) -> TaskUrlResponse:
    """addUrlToTask."""
    return TaskUrlResponse.model_validate({"id": row.id, "created_at": timestamp(row.created_at)})


def publishing_intent_response(intent_id: str) -> TaskPublishingIntentResponse:
    """createTaskPublishingIntent."""
    return TaskPublishingIntentResponse(id=intent_id)
