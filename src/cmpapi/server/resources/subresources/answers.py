"""The bodies of the routes that post a comment or an attachment on any parent: claim
the files, save through the shared service, answer 201, and delete the copies if saving
fails. Each parent's route function (one per operation) calls one of these."""

from __future__ import annotations

from fastapi import Request, Response
from pydantic import BaseModel

from cmpapi.server.http.deps import Api
from cmpapi.server.http.responses import wire_response
from cmpapi.server.resources.library import files
from cmpapi.server.resources.library.files import Signer
from cmpapi.server.resources.subresources import mapping, service
from cmpapi.server.resources.subresources.files import claim
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.wire import AttachmentRequest, CommentCreateRequest, CommentWithReplyCreateRequest


async def post_comment(
    request: Request,
    api: Api,
    sign: Signer,
    parent: Parent,
    owner_id: str,
    body: CommentCreateRequest | CommentWithReplyCreateRequest,
    model: type[BaseModel],
) -> Response:
    """A comment (a reply, when the body names ``parent_comment_id``), answered as
    ``model`` (``CampaignCommentResponse``, ...)."""
    items = body.attachments if isinstance(body.attachments, list) else []
    claimed = await claim(
        request, api, parent, items, service.check_comment_files, parent, owner_id
    )
    reply_to = getattr(body, "parent_comment_id", None)
    saved = api.answer(
        lambda view: wire_response(mapping.comment(model, view, api.links, parent, sign), 201),
        service.add_comment,
        api.links,
        parent,
        owner_id,
        body.value,
        claimed,
        reply_to if isinstance(reply_to, str) else None,
    )
    return await files.or_remove(request, [c.key for c in claimed], saved)


async def post_attachment(
    request: Request, api: Api, sign: Signer, parent: Parent, owner_id: str, body: AttachmentRequest
) -> Response:
    """An uploaded file attached to the parent (``AttachmentResponse``)."""
    (file,) = await claim(
        request, api, parent, [body], service.check_attachment, parent, owner_id, field=""
    )
    saved = api.answer(
        lambda row: wire_response(mapping.attachment(row, sign), 201),
        service.add_attachment,
        parent,
        owner_id,
        file,
    )
    return await files.or_remove(request, [file.key], saved)
