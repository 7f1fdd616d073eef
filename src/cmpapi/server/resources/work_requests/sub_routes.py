"""A work request's shared sub-resources (tag "Work Requests"): listWorkRequestComments,
addCommentToWorkRequest, getWorkRequestComment, addAttachmentToWorkRequest,
deleteWorkRequestAttachment."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files
from cmpapi.server.resources.library.files import SignerDep
from cmpapi.server.resources.subresources import answers, mapping, service
from cmpapi.server.resources.work_requests.parent import WORK_REQUEST
from cmpapi.wire import (
    AttachmentRequest,
    AttachmentResponse,
    CommentWithReplyCreateRequest,
    ListWorkRequestCommentsParametersQuery,
    ListWorkRequestCommentsResponse,
    WorkRequestCommentResponse,
)

router = Router(tags=["Work Requests"])
CommentsQuery = Annotated[
    ListWorkRequestCommentsParametersQuery,
    Depends(query(ListWorkRequestCommentsParametersQuery)),
]


@router.get(
    "/work-requests/{id}/comments",
    operation_id="listWorkRequestComments",
    response_model=ListWorkRequestCommentsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_work_request_comments(
    request: Request, id: str, params: CommentsQuery, api: ApiDep, sign: SignerDep
) -> Response:
    """The request's comments and replies, oldest first."""
    page, views = await api.call(
        service.list_comments, WORK_REQUEST, id, params.offset, params.page_size
    )
    data = [mapping.comment_item(v, api.links, WORK_REQUEST, sign) for v in views]
    return page_response(ListWorkRequestCommentsResponse, request, api.links, page, data)


@router.post(
    "/work-requests/{id}/comments",
    operation_id="addCommentToWorkRequest",
    status_code=201,
    response_model=WorkRequestCommentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def add_comment_to_work_request(
    request: Request, id: str, body: CommentWithReplyCreateRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Post a comment on the request, or a reply with ``parent_comment_id``
    (work_request_comment_added for top-level comments)."""
    return await answers.post_comment(
        request, api, sign, WORK_REQUEST, id, body, WorkRequestCommentResponse
    )


@router.get(
    "/work-requests/{work_request_id}/comments/{comment_id}",
    operation_id="getWorkRequestComment",
    response_model=WorkRequestCommentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_work_request_comment(
    work_request_id: str, comment_id: str, api: ApiDep, sign: SignerDep
) -> Response:
    """One comment or reply of the request."""
    view = await api.call(service.get_comment, WORK_REQUEST, work_request_id, comment_id)
    return wire_response(
        mapping.comment(WorkRequestCommentResponse, view, api.links, WORK_REQUEST, sign)
    )


@router.post(
    "/work-requests/{id}/attachments",
    operation_id="addAttachmentToWorkRequest",
    status_code=201,
    response_model=AttachmentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def add_attachment_to_work_request(
    request: Request, id: str, body: AttachmentRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Attach an uploaded file to the request."""
    return await answers.post_attachment(request, api, sign, WORK_REQUEST, id, body)


@router.delete(
    "/work-requests/{work_request_id}/attachments/{attachment_id}",
    operation_id="deleteWorkRequestAttachment",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def delete_work_request_attachment(
    request: Request, work_request_id: str, attachment_id: str, api: ApiDep
) -> Response:
    """Delete an attachment and its file (a comment's file goes with its comment: 422)."""
    key = await api.call(service.delete_attachment, WORK_REQUEST, work_request_id, attachment_id)
    await files.remove(request, [key] if key else [])
    return no_content()
