"""Task and sub-step comments (tag "Tasks"): addCommentToTask, listTaskSubStepComments,
addCommentToTaskSubStep, getTaskSubStepComment, updateTaskSubStepComment,
deleteTaskSubStepComment.

Attachments arrive as upload keys; ``subresources.files.claim`` copies each to a key of
the comment's own before the comment is saved, and ``files.or_remove`` deletes the copies
if saving fails.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import MISSING

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files
from cmpapi.server.resources.subresources.files import claim
from cmpapi.server.resources.tasks import comment_mapping as mapping
from cmpapi.server.resources.tasks import comments
from cmpapi.server.resources.tasks.comments import Target
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.wire import (
    AttachmentRequest,
    CommentCreateRequest,
    CommentWithReplyCreateRequest,
    ListTaskSubStepCommentsResponse,
    TaskCommentResponse,
    TaskSubStepCommentResponse,
    TaskSubStepCommentUpdateRequest,
)

router = Router(tags=["Tasks"])
COMMENTS = "/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}/comments"
COMMENT = COMMENTS + "/{comment_id}"
PagingDep = Annotated[Paging, Depends(query(Paging))]


def _items(body: CommentCreateRequest | CommentWithReplyCreateRequest) -> list[AttachmentRequest]:
    return body.attachments if isinstance(body.attachments, list) else []


@router.post(
    "/tasks/{task_id}/comments",
    operation_id="addCommentToTask",
    status_code=201,
    response_model=TaskCommentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def add_comment_to_task(
    request: Request, task_id: str, body: CommentCreateRequest, api: ApiDep, sign: files.SignerDep
) -> Response:
    """Post a comment on a task; the author is the token's user."""
    target = Target(task_id)
    claimed = await claim(request, api, TASK, _items(body), comments.check_attachments, target)
    saved = api.answer(
        lambda view: wire_response(mapping.task_comment(view, api.links, sign), 201),
        comments.add_comment_to_task,
        api.links,
        task_id,
        body.value,
        claimed,
    )
    return await files.or_remove(request, [c.key for c in claimed], saved)


@router.get(
    COMMENTS,
    operation_id="listTaskSubStepComments",
    response_model=ListTaskSubStepCommentsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_task_sub_step_comments(
    request: Request,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: PagingDep,
) -> Response:
    """The sub-step's comments and replies, oldest first."""
    target = Target(task_id, step_id, sub_step_id)
    page, views, ss = await api.call(
        comments.list_task_sub_step_comments, target, params.offset, params.page_size
    )
    data = [mapping.sub_step_comment_item(v, ss, api.links, sign) for v in views]
    return page_response(ListTaskSubStepCommentsResponse, request, api.links, page, data)


@router.post(
    COMMENTS,
    operation_id="addCommentToTaskSubStep",
    status_code=201,
    response_model=TaskSubStepCommentResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_comment_to_task_sub_step(
    request: Request,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    body: CommentWithReplyCreateRequest,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """Post a comment on a sub-step, or a reply with ``parent_comment_id``."""
    target = Target(task_id, step_id, sub_step_id)
    claimed = await claim(request, api, TASK, _items(body), comments.check_attachments, target)
    parent = body.parent_comment_id if body.parent_comment_id is not MISSING else None
    saved = api.answer(
        lambda done: wire_response(mapping.sub_step_comment(*done, api.links, sign), 201),
        comments.add_comment_to_task_sub_step,
        api.links,
        target,
        body.value,
        parent,
        claimed,
    )
    return await files.or_remove(request, [c.key for c in claimed], saved)


@router.get(
    COMMENT,
    operation_id="getTaskSubStepComment",
    response_model=TaskSubStepCommentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_task_sub_step_comment(
    task_id: str,
    step_id: str,
    sub_step_id: str,
    comment_id: str,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """One comment or reply of the sub-step."""
    target = Target(task_id, step_id, sub_step_id)
    view, ss = await api.call(comments.get_task_sub_step_comment, target, comment_id)
    return wire_response(mapping.sub_step_comment(view, ss, api.links, sign))


@router.patch(
    COMMENT,
    operation_id="updateTaskSubStepComment",
    response_model=TaskSubStepCommentResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_task_sub_step_comment(
    task_id: str,
    step_id: str,
    sub_step_id: str,
    comment_id: str,
    body: TaskSubStepCommentUpdateRequest,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """Edit a comment's text (its author or an admin)."""
    target = Target(task_id, step_id, sub_step_id)
    return await api.answer(
        lambda done: wire_response(mapping.sub_step_comment(*done, api.links, sign)),
        comments.update_task_sub_step_comment,
        api.links,
        target,
        comment_id,
        body.value,
    )


@router.delete(
    COMMENT,
    operation_id="deleteTaskSubStepComment",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def delete_task_sub_step_comment(
    request: Request, task_id: str, step_id: str, sub_step_id: str, comment_id: str, api: ApiDep
) -> Response:
    """Delete a comment (its author or an admin), with its replies and files."""
    target = Target(task_id, step_id, sub_step_id)
    keys = await api.call(comments.delete_task_sub_step_comment, api.links, target, comment_id)
    await files.remove(request, keys)
    return no_content()
