"""Attachments of any parent: files (uploaded directly, or brought in by a comment) and
links. Lists oldest first.

Files keep their own storage object: the route claims the upload (``files.claim``) before
the service runs, and deletes the copy again if the write fails. Functions flush and never
commit: the parent's service commits once, with its events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.subresources.tables import FILE, URL, Attachment

MAX_NAME, MAX_URL = 255, 2048
IN_ORDER = (Attachment.created_at, Attachment.id)
# What a page reads, as module-level columns and clauses (``Repository.rows`` prepares
# them once; the parent's values go in ``params``).
LIST_COLUMNS = (
    Attachment.id,
    Attachment.kind,
    Attachment.name,
    Attachment.url,
    Attachment.storage_key,
    Attachment.mime_type,
)
_OF_OWNER = (
    Attachment.owner_type == bindparam("owner_type"),
    Attachment.owner_id == bindparam("owner_id"),
)


def _now() -> datetime:
    # Sub-second precision on purpose: created_at orders the list (tables.py).
    return datetime.now(UTC)


def check_name(name: str, field: str = "name") -> str:
    """A file name of 1 to 255 characters (422 naming ``field``)."""
    if not name.strip() or len(name) > MAX_NAME:
        raise Invalid("Invalid attachment name", {field: f"1 to {MAX_NAME} characters"})
    return name


def add_file(
    session: Session,
    parent: Parent,
    owner: Owner,
    *,
    name: str,
    storage_key: str,
    mime_type: str,
    size: int,
    created_by: str | None = None,
    source: tuple[str, str] | None = None,
) -> Attachment:
    """Attach a stored file (the caller's own copy of an upload) to ``owner``.

    ``source`` (``("comment", comment_id)``) names what brought the file in, so the
    source can remove its attachments later (``forget_source``); such files belong to
    their source and cannot be deleted on their own.
    """
    source_type, source_id = source or (None, None)
    row = Attachment(
        id=new_id(),
        org_id=owner.org_id,
        owner_type=parent.kind,
        owner_id=owner.id,
        kind=FILE,
        name=check_name(name),
        storage_key=storage_key,
        mime_type=mime_type,
        size=size,
        created_by=created_by,
        source_type=source_type,
        source_id=source_id,
        created_at=_now(),
    )
    session.add(row)
    session.flush()
    return row


def checked_url(value: str) -> str:
    """An absolute http(s) URL of at most 2,048 characters (422 naming ``url``)."""
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
        message = f"An absolute http(s) URL of at most {MAX_URL} characters"
        raise Invalid("Invalid URL", {"url": message})
    return url


def add_link(
    session: Session, parent: Parent, owner: Owner, url: str, title: str, created_by: str | None
) -> Attachment:
    """Attach a link, named by its title (the URL itself when the title is blank)."""
    url, title = checked_url(url), title.strip()
    if len(title) > MAX_NAME:
        raise Invalid("Invalid title", {"title": f"At most {MAX_NAME} characters"})
    row = Attachment(
        id=new_id(),
        org_id=owner.org_id,
        owner_type=parent.kind,
        owner_id=owner.id,
        kind=URL,
        name=title or url[:MAX_NAME],
        url=url,
        created_by=created_by,
        created_at=_now(),
    )
    session.add(row)
    session.flush()
    return row


def page(session: Session, parent: Parent, owner: Owner, offset: int, page_size: int) -> Page[Any]:
    """The parent's files and links, oldest first (rows of ``LIST_COLUMNS``)."""
    return Repository(Attachment, session, owner.org_id).rows(
        LIST_COLUMNS,
        *_OF_OWNER,
        order_by=IN_ORDER,
        offset=offset,
        page_size=page_size,
        params={"owner_type": parent.kind, "owner_id": owner.id},
    )


def remove(session: Session, parent: Parent, owner: Owner, attachment_id: str) -> str | None:
    """Delete one attachment; the storage key to delete once the transaction commits.
    A file a comment brought in goes with its comment (422 naming the id)."""
    row = Repository(Attachment, session, owner.org_id).find(
        Attachment.id == attachment_id,
        Attachment.owner_type == parent.kind,
        Attachment.owner_id == owner.id,
    )
    if row is None:
        raise NotFound("Attachment not found")
    if row.source_type is not None:
        message = f"The file belongs to a {row.source_type}: delete the {row.source_type}"
        raise Invalid(message, {"attachment_id": message})
    session.delete(row)
    session.flush()
    return row.storage_key


def forget_source(session: Session, org_id: str, source_type: str, source_id: str) -> list[str]:
    """Forget the attachments a source brought in; their storage keys, for the source to
    delete once its transaction commits (it owns the objects)."""
    where = (
        Attachment.org_id == org_id,
        Attachment.source_type == source_type,
        Attachment.source_id == source_id,
    )
    keys = [k for k in session.scalars(select(Attachment.storage_key).where(*where)) if k]
    session.execute(delete(Attachment).where(*where))
    return keys
