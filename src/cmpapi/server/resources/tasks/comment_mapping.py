"""Comment rows -> wire models (TaskCommentResponse, TaskSubStepCommentResponse)."""

from __future__ import annotations

from collections.abc import Callable

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.tasks.comment_tables import TaskComment, TaskCommentAttachment
from cmpapi.server.resources.tasks.comments import CommentView
from cmpapi.server.resources.tasks.events import sub_step_path
from cmpapi.wire import AttachmentResponse, TaskCommentResponse, TaskSubStepCommentResponse

Sign = Callable[[str, str, str], str]
"""``sign(key, filename, content_type)``: a signed download URL (library.files.Signer)."""


def attachment(row: TaskCommentAttachment, sign: Sign) -> AttachmentResponse:
    """An attached file with a signed, expiring download URL under its given name."""
    return AttachmentResponse(
        id=row.id, name=row.name, url=sign(row.storage_key, row.name, row.mime_type)
    )


def _author(row: TaskComment, links: Links) -> tuple[str, str]:
    # The author's id and URL. Users are deactivated, not deleted; should a row ever go,
    # the comment stays (author NULL) and points at the users collection.
    if row.author_id is None:
        return "", links.api("users")
    return row.author_id, links.api("users", row.author_id)


def task_comment(view: CommentView, links: Links, sign: Sign) -> TaskCommentResponse:
    """addCommentToTask."""
    row = view.row
    author_id, author_url = _author(row, links)
    return TaskCommentResponse.model_validate({
        "id": row.id,
        "value": row.value,
        "is_resolved": row.is_resolved,
        "parent_comment_id": row.parent_id,
        "comment_by": author_id,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "attachments": [attachment(a, sign) for a in view.attachments],
        "links": {"task": links.api("tasks", row.task_id), "comment_by": author_url},
    })  # fmt: skip


def sub_step_comment(view: CommentView, links: Links, sign: Sign) -> TaskSubStepCommentResponse:
    """The sub-step comment operations."""
    row, ss = view.row, view.sub_step
    if ss is None:
        raise ValueError("a sub-step comment view without its sub-step")
    return TaskSubStepCommentResponse.model_validate({
        "id": row.id,
        "value": row.value,
        "is_resolved": row.is_resolved,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "attachments": [attachment(a, sign) for a in view.attachments],
        "links": {
            "self": sub_step_path(links, ss, "comments", row.id),
            "comment_by": _author(row, links)[1],
            "task": links.api("tasks", row.task_id),
            "sub_step": sub_step_path(links, ss),
        },
    })  # fmt: skip
