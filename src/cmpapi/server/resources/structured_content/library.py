"""Structured contents in the library (Library tag): createStructuredContent,
getStructuredContent, updateStructuredContent.

A library content is a ``library_assets`` row of type ``structured_content`` (folder,
archive flag, labels, ACL and listAssets as for every asset) and an ``sc_contents`` row
with the same id (``contents.py``). Writes need ``library:write`` and, as for other assets,
edit access to the folder (create) or the asset (update); they record ``asset_added`` /
``asset_modified`` with a link to getStructuredContent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.http.links import Links
from cmpapi.server.resources.library import acl, assets
from cmpapi.server.resources.library.events import record_asset_event
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.structured_content import contents, types
from cmpapi.server.resources.structured_content.contents import ContentView
from cmpapi.wire import (
    MISSING,
    LibraryStructuredContentCreateRequest,
    LibraryStructuredContentUpdateRequest,
)

TYPE = "structured_content"
MIME_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class LibraryContent:
    """A library structured content: its asset (with folder path and labels) and its
    content."""

    asset: assets.AssetView
    content: ContentView


def _view(session: Session, asset: Asset) -> LibraryContent:
    view = contents.load_content(session, asset.org_id, asset.id)
    return LibraryContent(assets.views(session, [asset])[0], view)


def load_library_content(
    session: Session, principal: Principal, content_id: str, needed: str = "view"
) -> LibraryContent:
    """A library content the caller has ``needed`` access to (404 / 403)."""
    asset = assets.load_asset(session, principal, content_id, needed, TYPE)
    return _view(session, asset)


def create_structured_content(
    session: Session,
    principal: Principal,
    links: Links,
    body: LibraryStructuredContentCreateRequest,
    raw_fields: Any,
    *,
    id_: str | None = None,
) -> LibraryContent:
    """A new library content; the caller owns it. The title is the body's ``title``, else
    ``content_body.title``, else the content type's name. ``id_``: its id (the demo's)."""
    folder_id = body.folder_id if body.folder_id is not MISSING else None
    assets.check_create_asset(session, principal, folder_id)
    content_body = body.content_body
    title = contents.checked_title(
        _title(session, principal, body.title, content_body.title, content_body), ""
    )
    asset = Asset(
        id=id_ or new_id(),
        type=TYPE,
        title=title,
        folder_id=folder_id or None,
        owner_id=principal.user_id,
        mime_type=MIME_TYPE,
        file_size=0,
    )
    Repository(Asset, session, principal.org_id).add(asset)
    new = contents.new_from_wire(content_body, raw_fields, title)
    contents.create_content(
        session, principal.org_id, principal.user_id, new, content_id=asset.id, asset_id=asset.id
    )
    owner = ("user", principal.user_id)
    acl.grant(session, principal.org_id, ("asset", asset.id), owner, acl.FULL, is_owner=True)
    record_asset_event(session, links, "asset_added", asset)
    session.commit()
    return _view(session, asset)


def get_structured_content(
    session: Session, principal: Principal, content_id: str
) -> LibraryContent:
    """One library content."""
    return load_library_content(session, principal, content_id)


def update_structured_content(
    session: Session,
    principal: Principal,
    links: Links,
    content_id: str,
    body: LibraryStructuredContentUpdateRequest,
    raw_fields: Any,
) -> LibraryContent:
    """Change a library content: ``title`` (the asset's and the content's),
    ``is_archived``, and ``content_body`` (metadata; ``fields`` patched, a new fields
    version when they change). Always records ``asset_modified``."""
    require(principal, "library:write")
    asset = assets.load_asset(session, principal, content_id, "edit", TYPE)
    contents.lock(session, asset.id)
    view = contents.load_content(session, asset.org_id, asset.id)
    patch = contents.patch_from_wire(body.content_body, raw_fields, body.title)
    updated, _ = contents.update_content(session, view, principal.user_id, patch)
    if "title" in patch.values:
        asset.title = updated.content.title
    if body.is_archived is not MISSING:
        asset.is_archived = body.is_archived
    asset.modified_at = utcnow()
    record_asset_event(session, links, "asset_modified", asset)
    session.commit()
    return _view(session, asset)


def _title(
    session: Session, principal: Principal, title: Any, body_title: Any, content_body: Any
) -> str:
    for candidate in (title, body_title):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    content_type = types.load_type_or_none(
        session, principal.org_id, content_body.content_type_guid
    )
    return content_type.name if content_type is not None else "Untitled"
