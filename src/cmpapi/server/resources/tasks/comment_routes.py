"""Task and sub-step comments (tag "Tasks"): addCommentToTask, listTaskSubStepComments,
addCommentToTaskSubStep, getTaskSubStepComment, updateTaskSubStepComment,
deleteTaskSubStepComment.

Attachments arrive as upload keys. Before the comment is saved, each file is copied to a
storage key of the comment's own (as the library does for assets): a later upload to the
same key must not change a posted comment. Storage is async and the services are not, so
the copying happens here, after a check that the caller may comment and owns the keys;
if saving then fails, the copies are deleted again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import MISSING

from cmpapi.server.db.base import new_id
from cmpapi.server.errors import Invalid
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.deps import Api
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files
from cmpapi.server.resources.tasks import comment_mapping as mapping
from cmpapi.server.resources.tasks import comments
from cmpapi.server.resources.tasks.comments import NewFile, Target
from cmpapi.server.storage.base import get_store
from cmpapi.server.storage.inspect import inspect_object
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
KEY_PREFIX = "task-comments"


async def _claim(
    request: Request, api: Api, target: Target, items: list[AttachmentRequest]
) -> list[NewFile]:
    """Check the caller may comment and owns every key, then copy each upload to a key of
    its own. A failure part-way deletes the copies already made."""
    if not items:
        return []
    names, keys = [i.name for i in items], [i.key for i in items]
    await api.call(comments.check_attachments, target, names, keys)
    store, claimed = get_store(request), []
    try:
        for n, item in enumerate(items):
            try:
                found = await inspect_object(store, item.key)
            except Invalid as exc:  # nothing was uploaded with this key
                raise Invalid(exc.message, {f"attachments.{n}.key": exc.message}) from None
            own = f"{KEY_PREFIX}/{new_id()}"
            await store.copy(item.key, own)
            claimed.append(NewFile(item.name, own, found.mime_type, found.size))
    except BaseException:
        await files.remove(request, [c.key for c in claimed])
        raise
    return claimed


def _items(body: CommentCreateRequest | CommentWithReplyCreateRequest) -> list[AttachmentRequest]:
    return body.attachments if isinstance(body.attachments, list) else []


@router.post("/tasks/{task_id}/comments", operation_id="addCommentToTask", status_code=201,
             response_model=TaskCommentResponse,
             responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def add_comment_to_task(
    request: Request, task_id: str, body: CommentCreateRequest, api: ApiDep,
    sign: files.SignerDep,
) -> Response:  # fmt: skip
    """Post a comment on a task; the author is the token's user."""
    claimed = await _claim(request, api, Target(task_id), _items(body))
    saved = api.answer(
        lambda view: wire_response(mapping.task_comment(view, api.links, sign), 201),
        comments.add_comment_to_task,
        task_id,
        body.value,
        claimed,
    )
    return await files.or_remove(request, [c.key for c in claimed], saved)


@router.get(COMMENTS, operation_id="listTaskSubStepComments",
            response_model=ListTaskSubStepCommentsResponse,
            responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def list_task_sub_step_comments(
    request: Request, task_id: str, step_id: str, sub_step_id: str, api: ApiDep,
    sign: files.SignerDep, params: Annotated[Paging, Depends(query(Paging))],
) -> Response:  # fmt: skip
    """The sub-step's comments and replies, oldest first."""
    target = Target(task_id, step_id, sub_step_id)
    page, views = await api.call(comments.list_task_sub_step_comments, target, params.offset,
                                 params.page_size)  # fmt: skip
    data = [mapping.sub_step_comment(v, api.links, sign) for v in views]
    return page_response(ListTaskSubStepCommentsResponse, request, api.links, page, data)


@router.post(COMMENTS, operation_id="addCommentToTaskSubStep", status_code=201,
             response_model=TaskSubStepCommentResponse,
             responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
async def add_comment_to_task_sub_step(
    request: Request, task_id: str, step_id: str, sub_step_id: str,
    body: CommentWithReplyCreateRequest, api: ApiDep, sign: files.SignerDep,
) -> Response:  # fmt: skip
    """Post a comment on a sub-step, or a reply with ``parent_comment_id``."""
    target = Target(task_id, step_id, sub_step_id)
    claimed = await _claim(request, api, target, _items(body))
    parent = body.parent_comment_id if body.parent_comment_id is not MISSING else None
    saved = api.answer(
        lambda view: wire_response(mapping.sub_step_comment(view, api.links, sign), 201),
        comments.add_comment_to_task_sub_step,
        api.links,
        target,
        body.value,
        parent,
        claimed,
    )
    return await files.or_remove(request, [c.key for c in claimed], saved)


@router.get(COMMENT, operation_id="getTaskSubStepComment",
            response_model=TaskSubStepCommentResponse,
            responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def get_task_sub_step_comment(
    task_id: str, step_id: str, sub_step_id: str, comment_id: str, api: ApiDep,
    sign: files.SignerDep,
) -> Response:  # fmt: skip
    """One comment or reply of the sub-step."""
    target = Target(task_id, step_id, sub_step_id)
    view = await api.call(comments.get_task_sub_step_comment, target, comment_id)
    return wire_response(mapping.sub_step_comment(view, api.links, sign))


@router.patch(COMMENT, operation_id="updateTaskSubStepComment",
              response_model=TaskSubStepCommentResponse,
              responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
async def update_task_sub_step_comment(
    task_id: str, step_id: str, sub_step_id: str, comment_id: str,
    body: TaskSubStepCommentUpdateRequest, api: ApiDep, sign: files.SignerDep,
) -> Response:  # fmt: skip
    """Edit a comment's text (its author or an admin)."""
    target = Target(task_id, step_id, sub_step_id)
    return await api.answer(
        lambda view: wire_response(mapping.sub_step_comment(view, api.links, sign)),
        comments.update_task_sub_step_comment,
        api.links,
        target,
        comment_id,
        body.value,
    )


@router.delete(COMMENT, operation_id="deleteTaskSubStepComment", status_code=204,
               response_class=Response,
               responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
async def delete_task_sub_step_comment(
    request: Request, task_id: str, step_id: str, sub_step_id: str, comment_id: str,
    api: ApiDep,
) -> Response:  # fmt: skip
    """Delete a comment (its author or an admin), with its replies and files."""
    target = Target(task_id, step_id, sub_step_id)
    keys = await api.call(comments.delete_task_sub_step_comment, api.links, target, comment_id)
    await files.remove(request, keys)
    return no_content()
