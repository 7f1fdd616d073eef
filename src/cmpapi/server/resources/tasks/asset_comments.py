"""Comments on task assets: listTaskAssetComments, addCommentToTaskAsset.

A comment belongs to the draft that was the asset's latest when it was posted; the list
shows the comments of the latest draft (the CMP: "comments for the latest version of a task
asset"), oldest first. The author is the token's user; task writers comment whatever the
task's state, archived included, as on sub-steps. Limits are those of task comments.
Attachments are upload keys, copied by the route (``library.files.claim``) between
``check_comment`` and the write, like drafts (see ``asset_service``); they are the
comment's own and are not listed as task attachments. ``CommentCreateRequest`` has no
parent comment, so these comments have no replies; the webhook catalogue has no task asset
comment event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page, Repository, lookup, read
from cmpapi.server.errors import Invalid
from cmpapi.server.resources.tasks.asset_service import (
    asset_of,
    check_key,
    consume_key,
    latest_draft,
    load_asset,
)
from cmpapi.server.resources.tasks.asset_tables import (
    FILE_TYPES,
    STRUCTURED_CONTENT,
    TaskAsset,
    TaskAssetComment,
    TaskAssetCommentAttachment,
    TaskAssetDraft,
    precise_now,
)
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.storage.inspect import UploadedFile

OLDEST_FIRST = (TaskAssetComment.created_at,)
# The limits of task and sub-step comments (resources/tasks/comments.py), kept alike.
MAX_VALUE, MAX_ATTACHMENTS, MAX_NAME = 50_000, 20, 255


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment with its attachments, in the order they were given. ``row`` is a
    TaskAssetComment or a ``LIST_COLUMNS`` row; ``attachments`` are
    TaskAssetCommentAttachments or ``FILE_COLUMNS`` rows."""

    row: Any
    attachments: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """An attachment of a comment being added: its name, its key and the copy made."""

    name: str
    key: str
    file: UploadedFile


def _commentable(session: Session, principal: Principal, task_id: str, asset_id: str) -> TaskAsset:
    # Task writers comment whatever the task's state (archived too), as on sub-steps:
    # comments are conversation, not changes to the task.
    asset = asset_of(session, load_task(session, principal, task_id, "write"), asset_id)
    if asset.type not in FILE_TYPES:
        raise Invalid(
            "Comments can be added to images, videos and raw files only",
            {
                "asset_id": "A structured content"
                if asset.type == STRUCTURED_CONTENT
                else "An article"
            },
        )
    return asset


def _check_input(value: str, names: list[str]) -> None:
    """The limits task comments share (docs/tasks.md)."""
    if not value.strip() or len(value) > MAX_VALUE:
        raise Invalid("Invalid comment", {"value": f"1 to {MAX_VALUE} characters, not blank"})
    if len(names) > MAX_ATTACHMENTS:
        raise Invalid("Too many attachments", {"attachments": f"At most {MAX_ATTACHMENTS}"})
    for n, name in enumerate(names):
        if not name.strip() or len(name) > MAX_NAME:
            raise Invalid(
                "Invalid attachment name", {f"attachments.{n}.name": f"1 to {MAX_NAME} characters"}
            )


def check_comment(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    value: str,
    attachments: list[tuple[str, str]],
) -> None:
    """Before copying attachments (``(name, key)`` pairs): the asset takes comments, the
    value and names are within limits and every key is usable, once (errors name
    ``attachments.N.key``)."""
    _commentable(session, principal, task_id, asset_id)
    _check_input(value, [name for name, _ in attachments])
    seen: set[str] = set()
    for n, (_, key) in enumerate(attachments):
        if key in seen:
            raise Invalid("An upload key is given twice", {f"attachments.{n}.key": "Repeated"})
        seen.add(key)
        check_key(session, principal.org_id, key, f"attachments.{n}.key")


def add_comment_to_task_asset(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    value: str,
    attachments: list[NewAttachment],
) -> tuple[TaskAsset, CommentView]:
    """Comment on the asset's latest draft, as the token's user."""
    asset = _commentable(session, principal, task_id, asset_id)
    _check_input(value, [a.name for a in attachments])
    comment_id = new_id()
    for n, new in enumerate(attachments):
        consume_key(session, asset.org_id, new.key, comment_id, f"attachments.{n}.key")
    draft = latest_draft(session, asset)
    if draft is None:  # an asset of a file type always has draft 1
        raise Invalid("The asset has no draft to comment on", {"asset_id": "No draft"})
    now = precise_now()
    comment = TaskAssetComment(
        id=comment_id,
        org_id=asset.org_id,
        task_id=asset.task_id,
        asset_id=asset.id,
        draft_id=draft.id,
        value=value,
        is_resolved=False,
        author_id=principal.user_id,
        created_at=now,
        modified_at=now,
    )
    session.add(comment)
    session.flush()
    rows = [
        TaskAssetCommentAttachment(
            id=new_id(),
            org_id=asset.org_id,
            comment_id=comment.id,
            position=n,
            name=new.name,
            storage_key=new.file.key,
            mime_type=new.file.mime_type,
            file_size=new.file.size,
            created_at=utcnow(),
        )
        for n, new in enumerate(attachments)
    ]
    session.add_all(rows)
    session.commit()
    return asset, CommentView(comment, rows)


# What a page reads, as module-level columns, clauses and statements (``Repository.rows``,
# ``read`` and ``lookup`` prepare them once; the request's values go in ``params``).
LIST_COLUMNS = (
    TaskAssetComment.id,
    TaskAssetComment.task_id,
    TaskAssetComment.value,
    TaskAssetComment.is_resolved,
    TaskAssetComment.created_at,
    TaskAssetComment.modified_at,
)
FILE_COLUMNS = (
    TaskAssetCommentAttachment.id,
    TaskAssetCommentAttachment.comment_id,
    TaskAssetCommentAttachment.position,
    TaskAssetCommentAttachment.name,
    TaskAssetCommentAttachment.storage_key,
    TaskAssetCommentAttachment.mime_type,
)
_OF_DRAFT = TaskAssetComment.draft_id == bindparam("draft_id")
# ``asset_service.latest_draft``'s id only.
_LATEST_DRAFT_ID = select(TaskAssetDraft.id).where(
    TaskAssetDraft.asset_id == bindparam("asset_id"),
    TaskAssetDraft.draft_number == bindparam("draft_number"),
)


def list_task_asset_comments(
    session: Session, principal: Principal, task_id: str, asset_id: str, offset: int, size: int
) -> tuple[TaskAsset, Page[CommentView]]:
    """Comments on the asset's latest draft, oldest first (none for articles), with their
    attachments in order (rows of ``LIST_COLUMNS`` and ``FILE_COLUMNS``)."""
    asset = load_asset(session, principal, task_id, asset_id, "read")
    draft = read(
        session, _LATEST_DRAFT_ID, {"asset_id": asset.id, "draft_number": asset.draft_count}
    )
    if not draft:
        return asset, Page([], offset, size, False)
    page = Repository(TaskAssetComment, session, principal.org_id).rows(
        LIST_COLUMNS,
        _OF_DRAFT,
        order_by=OLDEST_FIRST,
        offset=offset,
        page_size=size,
        params={"draft_id": draft[0].id},
    )
    by_comment: dict[str, list[Any]] = {c.id: [] for c in page.items}
    found = lookup(session, FILE_COLUMNS, TaskAssetCommentAttachment.comment_id, by_comment)
    for row in sorted(found, key=lambda r: r.position):
        by_comment[row.comment_id].append(row)
    items = [CommentView(c, by_comment[c.id]) for c in page.items]
    return asset, Page(items, page.offset, page.page_size, page.has_next)
