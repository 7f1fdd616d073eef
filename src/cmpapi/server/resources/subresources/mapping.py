"""Shared sub-resource rows -> wire models. The comment, attachment and brief answers of
every parent have the same shape; only the link to the parent is named after it
(``links.task``, ``links.campaign``, ``links.work_request``: ``Parent.kind``)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel

from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.kinds import KINDS
from cmpapi.server.resources.fields.values import FieldValues, FileUrl
from cmpapi.server.resources.library.files import Signer
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.subresources.comments import CommentView
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.server.resources.subresources.tables import (
    URL,
    Attachment,
    Brief,
)
from cmpapi.wire import AttachmentResponse

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=RootModel[Any])
OCTET_STREAM = "application/octet-stream"


def attachment_item(row: Any, sign: Signer) -> dict[str, Any]:
    """``{id, name, url}`` as plain data (a list's item: ``page_response`` checks it), from
    an Attachment or an ``attachments.LIST_COLUMNS`` row: a link's own URL, or a signed
    download URL of a file."""
    if row.kind == URL:
        url = row.url or ""
    else:
        url = sign(row.storage_key or "", row.name, row.mime_type or OCTET_STREAM)
    return {"id": row.id, "name": row.name, "url": url}


def attachment(row: Attachment, sign: Signer) -> AttachmentResponse:
    """An added attachment's answer: ``attachment_item`` validated."""
    return AttachmentResponse.model_validate(attachment_item(row, sign))


def comment_file(row: Any, sign: Signer) -> dict[str, Any]:
    """A comment's file (a CommentAttachment or a ``comments.FILE_COLUMNS`` row) as an
    ``AttachmentResponse``'s plain data, with a signed, expiring download URL under its
    given name."""
    url = sign(row.storage_key, row.name, row.mime_type)
    return {"id": row.id, "name": row.name, "url": url}


def author(row: Any, links: Links) -> tuple[str, str]:
    """The author's id and URL. Users are deactivated, not deleted; should a row ever go,
    the comment stays (author NULL) and points at the users collection."""
    if row.author_id is None:
        return "", links.to("findUserByEmail")
    return row.author_id, links.to("getUser", id=row.author_id)


def comment_body(view: CommentView, sign: Signer) -> dict[str, Any]:
    """The fields every comment answer has, links aside (from a Comment or a
    ``comments.LIST_COLUMNS`` row)."""
    row = view.row
    return {
        "id": row.id,
        "value": row.value,
        "is_resolved": row.is_resolved,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "attachments": [comment_file(a, sign) for a in view.attachments],
    }


def comment_item(view: CommentView, links: Links, parent: Parent, sign: Signer) -> dict[str, Any]:
    """A comment on the parent itself as plain data (a list's item: ``page_response``
    checks it)."""
    author_id, author_url = author(view.row, links)
    return comment_body(view, sign) | {
        "parent_comment_id": view.row.parent_id,
        "comment_by": author_id,
        "links": {
            parent.kind: parent.url(links, view.row.owner_id),
            "comment_by": author_url,
        },
    }


def comment(model: type[M], view: CommentView, links: Links, parent: Parent, sign: Signer) -> M:
    """A comment on the parent itself (``TaskCommentResponse``,
    ``CampaignCommentResponse``, ``WorkRequestCommentResponse``): ``comment_item``
    validated."""
    return model.model_validate(comment_item(view, links, parent, sign))


def brief(
    model: type[M], row: Brief, links: Links, parent: Parent, keys: tuple[str, ...] | None = None
) -> M:
    """``TaskBriefResponse`` / ``CampaignBriefResponse``; ``keys``: the keys the parent's
    brief fields show, when it shows fewer than are stored."""
    template = {"id": row.template_id, "name": row.template_name or ""} if row.template_id else None
    return model.model_validate(
        {
            "type": row.type,
            "title": row.title,
            "template": template,
            "fields": [f if keys is None else {k: f.get(k) for k in keys} for f in row.fields],
            "links": {
                "self": parent.url(links, row.owner_id, parent.brief_op),
                parent.kind: parent.url(links, row.owner_id),
            },
        }
    )


def file_url(fvs: Iterable[FieldValues], sign: Signer) -> FileUrl:
    """``key -> download URL`` for the image and video values among ``fvs``, served under
    the title the value was given."""
    titles = {
        v["key"]: v["title"]
        for fv in fvs
        if KINDS[fv.field.type].values == "file"
        for v in fv.values
    }

    def url(key: str) -> str:
        title = titles.get(key, key)
        return sign(key, title, mimetypes.guess_type(title)[0] or OCTET_STREAM)

    return url


def field(model: type[R], fv: FieldValues, sign: Signer) -> R:
    """A field the parent holds, as a list item or an added field's answer."""
    return values.render_item(model, fv, file_url=file_url([fv], sign))


def field_update(
    model: type[M], fv: FieldValues, owner_id: str, links: Links, parent: Parent, sign: Signer
) -> M:
    """A changed field's answer (``CampaignFieldUpdateResponse``): its values as strings,
    links to the parent and to its fields."""
    return model.model_validate(
        {
            "id": fv.field.id,
            "name": fv.field.name,
            "type": fv.field.type,
            "values": values.value_strings(fv, file_url([fv], sign)),
            "links": {
                parent.kind: parent.url(links, owner_id),
                f"{parent.kind}_fields": parent.url(links, owner_id, parent.fields_op),
            },
        }
    )
