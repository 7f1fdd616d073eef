"""Comments on any parent (``Parent``), optionally on a part of it (``scope_id``: a task's
sub-step), with one-level reply threads and attached files.

Rules (docs/tasks.md, "Comments", hold for every parent):

- the author is the token's user; whoever may write the parent comments, viewers read;
- only the author or an admin edits or deletes a comment (403 otherwise);
- ``parent_comment_id`` must name a comment of the same parent and scope; threads are one
  level deep, so a reply to a reply joins the thread of its top-level comment;
- deleting a top-level comment deletes its replies (and every attached file);
- the files also list among the parent's attachments (``attachments.py``), sharing the
  comment's storage objects, which the comment owns;
- ``Parent.comment_changed`` records the parent's event for top-level comments.

Files are claimed (copied out of the upload area) by the route before the service runs,
because storage is async (``files.claim``); the service only records them
(``files.NewFile``).
Functions flush and never commit: the parent's service commits once, with its events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository, lookup
from cmpapi.server.errors import Forbidden, Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources import attachments
from cmpapi.server.resources.subresources.files import NewFile
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.subresources.tables import Comment, CommentAttachment
from cmpapi.server.storage.inspect import require_upload_key

MAX_VALUE = 50_000  # characters of markdown in one comment
MAX_ATTACHMENTS = 20  # files on one comment
MAX_NAME = 255  # characters of an attachment's file name
OLDEST_FIRST = (Comment.created_at, Comment.id)
SOURCE = "comment"  # source_type of the parent attachments comments bring in


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment with its attachments, in order. ``row`` is a Comment or a
    ``LIST_COLUMNS`` row; ``attachments`` are CommentAttachments or ``FILE_COLUMNS`` rows."""

    row: Any
    attachments: list[Any] = field(default_factory=list)


# What a page reads, as module-level columns and clauses (``Repository.rows`` and
# ``lookup`` prepare them once; the request's values go in ``params``).
LIST_COLUMNS = (
    Comment.id,
    Comment.owner_id,
    Comment.parent_id,
    Comment.value,
    Comment.is_resolved,
    Comment.author_id,
    Comment.created_at,
    Comment.modified_at,
)
FILE_COLUMNS = (
    CommentAttachment.id,
    CommentAttachment.comment_id,
    CommentAttachment.position,
    CommentAttachment.name,
    CommentAttachment.storage_key,
    CommentAttachment.mime_type,
)
_OF_OWNER = (
    Comment.owner_type == bindparam("owner_type"),
    Comment.owner_id == bindparam("owner_id"),
)
_UNSCOPED = Comment.scope_id.is_(None)
_IN_SCOPE = Comment.scope_id == bindparam("scope_id")


def _now() -> datetime:
    # Sub-second precision on purpose: created_at orders the list (tables.py).
    return datetime.now(UTC)


def _where(parent: Parent, owner: Owner, scope_id: str | None) -> tuple[ColumnElement[bool], ...]:
    return (
        Comment.owner_type == parent.kind,
        Comment.owner_id == owner.id,
        Comment.scope_id.is_(None) if scope_id is None else Comment.scope_id == scope_id,
    )


def check_value(value: str) -> str:
    """The comment's text, unless blank or too long (422 naming ``value``)."""
    if not value.strip():
        raise Invalid("A comment cannot be blank", {"value": "Blank"})
    if len(value) > MAX_VALUE:
        message = f"At most {MAX_VALUE:,} characters"
        raise Invalid("The comment is too long", {"value": message})
    return value


def check_files(session: Session, org_id: str, names: list[str], keys: list[str]) -> None:
    """Before any file is copied: every attachment has a name and an upload key of the
    organization (422 naming ``attachments.N.name`` / ``attachments.N.key``)."""
    if len(keys) > MAX_ATTACHMENTS:
        message = f"At most {MAX_ATTACHMENTS} attachments per comment"
        raise Invalid(message, {"attachments": message})
    for n, (name, key) in enumerate(zip(names, keys, strict=True)):
        if not name.strip() or len(name) > MAX_NAME:
            message = f"A file name of 1 to {MAX_NAME} characters"
            raise Invalid("Invalid attachment name", {f"attachments.{n}.name": message})
        try:
            require_upload_key(session, org_id, key)
        except Invalid as exc:
            raise Invalid(exc.message, {f"attachments.{n}.key": exc.message}) from None


def files_of(session: Session, comment_ids: Iterable[str]) -> dict[str, list[Any]]:
    """The attachments of several comments (rows of ``FILE_COLUMNS``, in order), in one
    prepared read."""
    found: dict[str, list[Any]] = {c: [] for c in comment_ids}
    rows = lookup(session, FILE_COLUMNS, CommentAttachment.comment_id, found)
    for row in sorted(rows, key=lambda r: r.position):
        found[row.comment_id].append(row)
    return found


def _view(session: Session, comment: Comment) -> CommentView:
    return CommentView(comment, files_of(session, [comment.id])[comment.id])


def _thread_root(
    session: Session, parent: Parent, owner: Owner, scope_id: str | None, parent_id: str
) -> str:
    """The top-level comment a reply belongs to (422 unless it is on the same target)."""
    found = Repository(Comment, session, owner.org_id).find(
        Comment.id == parent_id, *_where(parent, owner, scope_id)
    )
    if found is None:
        message = "No comment here has this id"
        raise Invalid("Unknown parent comment", {"parent_comment_id": message})
    return found.parent_id or found.id


def add(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner: Owner,
    value: str,
    files: Sequence[NewFile] = (),
    *,
    scope_id: str | None = None,
    reply_to: str | None = None,
) -> CommentView:
    """Post a comment (or, with ``reply_to``, a reply) by the caller on ``owner``."""
    value = check_value(value)
    thread = _thread_root(session, parent, owner, scope_id, reply_to) if reply_to else None
    now = _now()
    comment = Comment(
        id=new_id(),
        org_id=owner.org_id,
        owner_type=parent.kind,
        owner_id=owner.id,
        scope_id=scope_id,
        parent_id=thread,
        value=value,
        author_id=principal.user_id,
        created_at=now,
        modified_at=now,
    )
    session.add(comment)
    session.flush()
    rows = [
        CommentAttachment(
            id=new_id(),
            org_id=owner.org_id,
            comment_id=comment.id,
            position=n,
            name=f.name,
            storage_key=f.key,
            mime_type=f.mime_type,
            file_size=f.size,
            created_at=now,
        )
        for n, f in enumerate(files)
    ]
    session.add_all(rows)
    for f in files:
        attachments.add_file(
            session,
            parent,
            owner,
            name=f.name,
            storage_key=f.key,
            mime_type=f.mime_type,
            size=f.size,
            created_by=principal.user_id,
            source=(SOURCE, comment.id),
        )
    session.flush()
    if thread is None:
        parent.comment_changed(session, links, owner, comment.id, "added")
    return CommentView(comment, rows)


def page(
    session: Session,
    parent: Parent,
    owner: Owner,
    offset: int,
    page_size: int,
    scope_id: str | None = None,
) -> tuple[Page[Any], list[CommentView]]:
    """Every comment on the target, replies included, oldest first (rows of
    ``LIST_COLUMNS``)."""
    values = {"owner_type": parent.kind, "owner_id": owner.id}
    if scope_id is not None:
        values["scope_id"] = scope_id
    found = Repository(Comment, session, owner.org_id).rows(
        LIST_COLUMNS,
        *_OF_OWNER,
        _UNSCOPED if scope_id is None else _IN_SCOPE,
        order_by=OLDEST_FIRST,
        offset=offset,
        page_size=page_size,
        params=values,
    )
    files = files_of(session, [c.id for c in found.items])
    return found, [CommentView(c, files[c.id]) for c in found.items]


def get(
    session: Session, parent: Parent, owner: Owner, comment_id: str, scope_id: str | None = None
) -> CommentView:
    """One comment (or reply) of the target (404 also for another target's comment)."""
    comment = Repository(Comment, session, owner.org_id).find(
        Comment.id == comment_id, *_where(parent, owner, scope_id)
    )
    if comment is None:
        raise NotFound()
    return _view(session, comment)


def _own(
    session: Session,
    principal: Principal,
    parent: Parent,
    owner: Owner,
    comment_id: str,
    scope_id: str | None,
) -> Comment:
    """A comment the caller may change: its author, or an admin (403 otherwise)."""
    comment: Comment = get(session, parent, owner, comment_id, scope_id).row
    if comment.author_id != principal.user_id and not principal.is_admin:
        raise Forbidden("Only the comment's author or an admin can change it")
    return comment


def update(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner: Owner,
    comment_id: str,
    value: str,
    scope_id: str | None = None,
) -> CommentView:
    """Edit a comment's text."""
    comment = _own(session, principal, parent, owner, comment_id, scope_id)
    comment.value, comment.modified_at = check_value(value), _now()
    session.flush()
    if comment.parent_id is None:
        parent.comment_changed(session, links, owner, comment.id, "modified")
    return _view(session, comment)


def remove(
    session: Session,
    principal: Principal,
    links: Links,
    parent: Parent,
    owner: Owner,
    comment_id: str,
    scope_id: str | None = None,
) -> tuple[Comment, list[str]]:
    """Delete a comment and, for a top-level one, its replies (which cannot stand alone
    once their thread is gone). Returns the comment and the storage keys of every
    attached file, for the caller to delete once the transaction commits."""
    comment = _own(session, principal, parent, owner, comment_id, scope_id)
    ids = [comment.id]
    if comment.parent_id is None:
        ids += session.scalars(select(Comment.id).where(Comment.parent_id == comment.id))
    keys = list(
        session.scalars(
            select(CommentAttachment.storage_key).where(CommentAttachment.comment_id.in_(ids))
        )
    )
    session.execute(delete(CommentAttachment).where(CommentAttachment.comment_id.in_(ids)))
    for gone in ids:  # the parent's attachment list shares the objects; the comment owns them
        attachments.forget_source(session, owner.org_id, SOURCE, gone)
    session.execute(
        delete(Comment).where(or_(Comment.parent_id == comment.id, Comment.id == comment.id))
    )
    if comment.parent_id is None:
        parent.comment_changed(session, links, owner, comment.id, "removed")
    return comment, keys


def any_scoped(session: Session, parent: Parent, owner: Owner) -> bool:
    """Whether any comment is on a part of the parent (a task's sub-step)."""
    where = (Comment.owner_type == parent.kind, Comment.owner_id == owner.id)
    return bool(session.scalar(select(exists().where(*where, Comment.scope_id.is_not(None)))))
