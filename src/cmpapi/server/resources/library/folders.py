"""Folders (Library tag): a tree per organization with inherited permissions.

Service functions are named after the operations and take ``(session, principal, ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import MISSING
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Filters, Page, Repository, lookup
from cmpapi.server.errors import BadRequest, Forbidden, NotFound
from cmpapi.server.resources.library import acl, permissions
from cmpapi.server.resources.library.tables import AclEntry, Folder
from cmpapi.wire import FolderCreateRequest, FolderUpdateRequestByName, FolderUpdateRequestByParent

NEWEST_FIRST = (Folder.modified_at.desc(),)


@dataclass(frozen=True, slots=True)
class FolderView:
    """A folder (a Folder or a ``LIST_COLUMNS`` row) with its name path (``/images/icons``)
    for the wire."""

    row: Any
    path: str


LIST_COLUMNS = (
    Folder.id,
    Folder.name,
    Folder.parent_id,
    Folder.id_path,
    Folder.created_at,
    Folder.modified_at,
)
_CHILD_OF = Folder.parent_id == bindparam("parent_id")
_NAMES = (Folder.id, Folder.name)


def _repo(session: Session, principal: Principal) -> Repository[Folder]:
    return Repository(Folder, session, principal.org_id)


def views(session: Session, folders: Sequence[Any]) -> list[FolderView]:
    """Attach name paths, loading every ancestor name of the page in one prepared query
    (``folders``: Folders or rows with ``id`` and ``id_path``)."""
    ids = {i for f in folders for i in acl.ancestor_ids(f.id_path)}
    names: dict[str, str] = dict(lookup(session, _NAMES, Folder.id, ids))
    return [
        FolderView(f, "/" + "/".join(names.get(i, "") for i in acl.ancestor_ids(f.id_path)))
        for f in folders
    ]


def load_folder(session: Session, principal: Principal, folder_id: str, needed: str) -> Folder:
    """The folder, if it exists in the org (404) and the caller has ``needed`` access (403)."""
    folder = _repo(session, principal).get(folder_id)
    acl.require_folder(session, principal, folder, needed)
    return folder


def filter_folder(session: Session, principal: Principal, folder_id: str, param: str) -> Folder:
    """A folder a list is filtered by: an unknown one is the filter's fault (400 naming the
    parameter; the list operations declare no 404), one not visible to the caller 403."""
    try:
        return load_folder(session, principal, folder_id, "view")
    except NotFound:
        raise BadRequest("Unknown folder", {param: "No such folder"}) from None


def list_folders(
    session: Session, principal: Principal, parent_folder_id: str | None, offset: int, size: int
) -> tuple[Page[Any], list[FolderView]]:
    """Visible folders, newest change first; only the children of a parent when given.
    Rows of ``LIST_COLUMNS``."""
    filters = Filters()
    if parent_folder_id is not None:
        parent = filter_folder(session, principal, parent_folder_id, "parent_folder_id")
        filters.add(_CHILD_OF, parent_id=parent.id)
    visible = acl.visible_folders(session, principal)
    if visible is not None:  # built per request (the caller's accessor ids)
        filters.add(visible)
    page = _repo(session, principal).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=NEWEST_FIRST,
        offset=offset,
        page_size=size,
        params=filters.values,
        cache=visible is None,
    )
    return page, views(session, page.items)


def get_folder(session: Session, principal: Principal, folder_id: str) -> FolderView:
    """One folder the caller may view."""
    return views(session, [load_folder(session, principal, folder_id, "view")])[0]


def create_folder(session: Session, principal: Principal, body: FolderCreateRequest) -> FolderView:
    """Create a folder at the root or under a parent the caller may edit; the caller owns it."""
    require(principal, "library:write")
    parent_id = body.parent_folder_id if body.parent_folder_id is not MISSING else None
    parent = load_folder(session, principal, parent_id, "edit") if parent_id else None
    folder_id = new_id()
    folder = _repo(session, principal).add(
        Folder(
            id=folder_id,
            name=body.name,
            parent_id=parent.id if parent else None,
            id_path=f"{parent.id_path if parent else '/'}{folder_id}/",
            created_by=principal.user_id,
        )
    )
    acl.grant(
        session,
        principal.org_id,
        ("folder", folder.id),
        ("user", principal.user_id),
        acl.FULL,
        is_owner=True,
    )
    session.commit()
    return views(session, [folder])[0]


def update_folder(
    session: Session,
    principal: Principal,
    folder_id: str,
    body: FolderUpdateRequestByName | FolderUpdateRequestByParent,
) -> FolderView:
    """Rename and/or move a folder (moving needs edit access on both ends)."""
    require(principal, "library:write")
    folder = load_folder(session, principal, folder_id, "edit")
    if body.name is not MISSING:
        folder.name = body.name
    if body.parent_folder_id is not MISSING:
        _move(session, principal, folder, body.parent_folder_id)
    folder.modified_at = utcnow()
    session.commit()
    return views(session, [folder])[0]


def _move(session: Session, principal: Principal, folder: Folder, parent_id: str | None) -> None:
    parent = load_folder(session, principal, parent_id, "edit") if parent_id else None
    if parent is not None and parent.id_path.startswith(folder.id_path):
        raise BadRequest(
            "A folder cannot be moved into itself or its subfolders",
            {"parent_folder_id": "Inside the folder being moved"},
        )
    old, new = folder.id_path, f"{parent.id_path if parent else '/'}{folder.id}/"
    # One UPDATE re-roots the whole subtree's materialised paths.
    session.execute(
        update(Folder)
        .where(Folder.org_id == folder.org_id, Folder.id_path.like(f"{old}%"))
        .values(id_path=new + func.substr(Folder.id_path, len(old) + 1))
        .execution_options(synchronize_session=False)
    )
    session.expire(folder)
    folder.parent_id = parent.id if parent else None


def delete_folder(session: Session, principal: Principal, folder_id: str) -> None:
    """Delete an empty folder (owners and admins). Non-empty folders are refused."""
    require(principal, "library:write")
    folder = load_folder(session, principal, folder_id, "delete")
    if has_content(session, folder):
        raise BadRequest("The folder is not empty: move or delete its contents first")
    session.execute(
        delete(AclEntry).where(
            AclEntry.resource_type == "folder", AclEntry.resource_id == folder.id
        )
    )
    _repo(session, principal).delete(folder)
    session.commit()


CONTENT_CHECKS: list[Any] = []  # callables (session, folder) -> bool; assets register one


def has_content(session: Session, folder: Folder) -> bool:
    """Whether the folder holds subfolders or anything a registered check reports."""
    child = session.scalar(select(Folder.id).where(Folder.parent_id == folder.id).limit(1))
    return child is not None or any(check(session, folder) for check in CONTENT_CHECKS)


def ensure_manageable(session: Session, principal: Principal, folder: Folder) -> None:
    """Managing permissions takes owner (full) access."""
    if acl.folder_level(session, principal, folder.id_path) < acl.FULL:
        raise Forbidden()


@permissions.register("folder")
def _load_for_permissions(
    session: Session, principal: Principal, resource_id: str, manage: bool
) -> Folder:
    folder = load_folder(session, principal, resource_id, "view")
    if manage:
        ensure_manageable(session, principal, folder)
    return folder
