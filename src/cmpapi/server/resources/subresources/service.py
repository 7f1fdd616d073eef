"""The shared sub-resource operations, whole: load the parent as the caller may (its
``Parent.read`` / ``Parent.write``), change it, commit once with the parent's events.
Each parent's routes call these with its declaration, one route function per operation
(``addCommentToCampaign`` -> ``add_comment(..., CAMPAIGN, ...)``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.repository import Page
from cmpapi.server.errors import Invalid
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.values import FieldValues
from cmpapi.server.resources.subresources import attachments, briefs, comments, fields
from cmpapi.server.resources.subresources.comments import CommentView
from cmpapi.server.resources.subresources.files import NewFile
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.server.resources.subresources.tables import (
    Attachment,
    Brief,
    Comment,
    CommentAttachment,
)
from cmpapi.server.storage.inspect import require_upload_key


def check_comment_files(
    session: Session,
    principal: Principal,
    parent: Parent,
    owner_id: str,
    names: list[str],
    keys: list[str],
) -> None:
    """Before a comment's files are copied: the caller may write the parent, and every
    name and upload key is acceptable (``attachments.N.name`` / ``.key``)."""
    parent.write(session, principal, owner_id)
    comments.check_files(session, principal.org_id, names, keys)


def check_attachment(
    session: Session,
    principal: Principal,
    parent: Parent,
    owner_id: str,
    names: list[str],
    keys: list[str],
) -> None:
    """Before an attachment's file is copied: the caller may write the parent, and the
    name and upload key are acceptable (422 naming ``name`` / ``key``)."""
    parent.write(session, principal, owner_id)
    for name, key in zip(names, keys, strict=True):
        attachments.check_name(name)
        try:
            require_upload_key(session, principal.org_id, key)
        except Invalid as exc:
            raise Invalid(exc.message, {"key": exc.message}) from None


def add_comment(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    value: str,
    files: Sequence[NewFile],
    reply_to: str | None = None,
) -> CommentView:
    """Post a comment (or a reply) on the parent."""
    owner = parent.write(session, principal, owner_id)
    view = comments.add(session, principal, links, parent, owner, value, files, reply_to=reply_to)
    session.commit()
    return view


def list_comments(
    session: Session,
    principal: Principal,
    parent: Parent,
    owner_id: str,
    offset: int,
    page_size: int,
) -> tuple[Page[Any], list[CommentView]]:
    """The parent's comments and replies, oldest first."""
    owner = parent.read(session, principal, owner_id)
    return comments.page(session, parent, owner, offset, page_size)


def get_comment(
    session: Session, principal: Principal, parent: Parent, owner_id: str, comment_id: str
) -> CommentView:
    """One comment (or reply) of the parent."""
    return comments.get(session, parent, parent.read(session, principal, owner_id), comment_id)


def add_attachment(
    session: Session, principal: Principal, parent: Parent, owner_id: str, file: NewFile
) -> Attachment:
    """Attach a claimed file to the parent."""
    owner = parent.write(session, principal, owner_id)
    row = attachments.add_file(
        session,
        parent,
        owner,
        name=file.name,
        storage_key=file.key,
        mime_type=file.mime_type,
        size=file.size,
        created_by=principal.user_id,
    )
    session.commit()
    return row


def delete_attachment(
    session: Session, principal: Principal, parent: Parent, owner_id: str, attachment_id: str
) -> str | None:
    """Delete one of the parent's attachments; its storage key, to delete after the commit."""
    owner = parent.write(session, principal, owner_id)
    key = attachments.remove(session, parent, owner, attachment_id)
    session.commit()
    return key


def get_brief(session: Session, principal: Principal, parent: Parent, owner_id: str) -> Brief:
    """The parent's brief (404 when it has none)."""
    return briefs.get(session, parent, parent.read(session, principal, owner_id))


def list_fields(
    session: Session,
    principal: Principal,
    parent: Parent,
    owner_id: str,
    offset: int,
    page_size: int,
) -> Page[FieldValues]:
    """The parent's fields with their values."""
    owner = parent.read(session, principal, owner_id)
    return fields.page(session, parent, owner, offset, page_size)


def add_field(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    payload: Any,
) -> FieldValues:
    """Add one of the organization's fields, with values, to the parent."""
    fv = fields.add(session, links, parent, parent.write(session, principal, owner_id), payload)
    session.commit()
    return fv


def update_field(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    field_id: str,
    payload: Any,
) -> FieldValues:
    """Replace the values of a field the parent holds."""
    owner = parent.write(session, principal, owner_id)
    fv = fields.update(session, links, parent, owner, field_id, payload)
    session.commit()
    return fv


def replace_fields(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    items: Iterable[Any],
) -> list[FieldValues]:
    """Set the parent's fields to exactly ``items``."""
    owner = parent.write(session, principal, owner_id)
    fvs = fields.replace(session, links, parent, owner, items)
    session.commit()
    return fvs


def put_brief(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    *,
    title: str,
    fields: Sequence[dict[str, Any]] = (),
) -> Brief:
    """Give the parent a text brief or replace its brief, as the CMP web app's brief editor
    does (``<kind>_brief_added`` / ``_modified``)."""
    owner = parent.write(session, principal, owner_id)
    brief = briefs.put(session, links, parent, owner, type="text", title=title, fields=fields)
    session.commit()
    return brief


def remove_brief(
    session: Session, principal: Principal, links: Links, parent: Parent, owner_id: str
) -> None:
    """Drop the parent's brief (``<kind>_brief_removed``; 404 when it has none)."""
    owner = parent.write(session, principal, owner_id)
    if not briefs.remove(session, links, parent, owner):
        briefs.get(session, parent, owner)  # raises the 404 getTaskBrief would
    session.commit()


def purge(session: Session, parent: Parent, org_id: str, owner_id: str) -> list[str]:
    """Delete everything of the parent's sub-resources (comments with their files,
    attachments, brief) for a parent being deleted; the storage keys to delete once the
    caller's transaction commits. Flushes, records no event."""
    owned = (Comment.org_id == org_id, Comment.owner_type == parent.kind)
    comment_ids = select(Comment.id).where(*owned, Comment.owner_id == owner_id)
    keys = list(
        session.scalars(
            select(CommentAttachment.storage_key).where(
                CommentAttachment.comment_id.in_(comment_ids)
            )
        )
    )
    files = (
        Attachment.org_id == org_id,
        Attachment.owner_type == parent.kind,
        Attachment.owner_id == owner_id,
    )
    keys += [k for k in session.scalars(select(Attachment.storage_key).where(*files)) if k]
    session.execute(delete(CommentAttachment).where(CommentAttachment.comment_id.in_(comment_ids)))
    session.execute(delete(Comment).where(*owned, Comment.owner_id == owner_id))
    session.execute(delete(Attachment).where(*files))
    session.execute(
        delete(Brief).where(Brief.owner_type == parent.kind, Brief.owner_id == owner_id)
    )
    return keys


def update_comment(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    comment_id: str,
    value: str,
) -> CommentView:
    """Edit a comment's text (its author or an admin)."""
    owner = parent.write(session, principal, owner_id)
    view = comments.update(session, principal, links, parent, owner, comment_id, value)
    session.commit()
    return view


def delete_comment(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner_id: str,
    comment_id: str,
) -> list[str]:
    """Delete a comment and its replies (its author or an admin); the storage keys of
    their files, for the caller to delete once committed."""
    owner = parent.write(session, principal, owner_id)
    _, keys = comments.remove(session, principal, links, parent, owner, comment_id)
    session.commit()
    return keys
