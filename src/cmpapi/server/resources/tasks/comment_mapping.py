"""Comment rows -> wire models (TaskCommentResponse, TaskSubStepCommentResponse)."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.files import Signer
from cmpapi.server.resources.subresources import mapping
from cmpapi.server.resources.subresources.comments import CommentView
from cmpapi.server.resources.tasks.events import sub_step_comment_url, sub_step_url
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.server.resources.tasks.tables import TaskSubStep
from cmpapi.wire import TaskCommentResponse, TaskSubStepCommentResponse


def task_comment(view: CommentView, links: Links, sign: Signer) -> TaskCommentResponse:
    """addCommentToTask."""
    return mapping.comment(TaskCommentResponse, view, links, TASK, sign)


def sub_step_comment_item(
    view: CommentView, ss: TaskSubStep, links: Links, sign: Signer
) -> dict[str, Any]:
    """listTaskSubStepComments' item as plain data (``page_response`` checks it)."""
    return mapping.comment_body(view, sign) | {
        "links": {
            "self": sub_step_comment_url(links, ss, view.row.id),
            "comment_by": mapping.author(view.row, links)[1],
            "task": TASK.url(links, ss.task_id),
            "sub_step": sub_step_url(links, ss),
        }
    }


def sub_step_comment(
    view: CommentView, ss: TaskSubStep, links: Links, sign: Signer
) -> TaskSubStepCommentResponse:
    """The sub-step comment operations: ``sub_step_comment_item`` validated."""
    return TaskSubStepCommentResponse.model_validate(sub_step_comment_item(view, ss, links, sign))
