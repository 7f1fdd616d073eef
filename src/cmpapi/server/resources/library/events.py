"""Webhook payloads of library events (shared/reference/cmp-webhooks.md §2.1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.tables import Asset

# asset type -> the operation serving an asset of that type
TYPE_OPERATIONS = {
    "image": "getImage",
    "video": "getVideo",
    "raw_file": "getRawFile",
    "article": "getArticle",
    "structured_content": "getStructuredContent",
}


def asset_self(links: Links, asset: Asset) -> str:
    """The asset's URL at its type endpoint (``/v3/images/{id}`` ...)."""
    return links.to(TYPE_OPERATIONS[asset.type], id=asset.id)


def record_asset_event(session: Session, links: Links, name: str, asset: Asset) -> None:
    """Record ``asset_added``, ``asset_modified`` or ``asset_removed`` for the asset."""
    data: dict[str, Any] = {
        "id": asset.id,
        "owner_organization_id": asset.org_id,
        "type": asset.type,
    }
    if name != "asset_removed":  # the removed event carries no links
        data["links"] = {"self": asset_self(links, asset)}
    if name == "asset_added":
        data["source"] = {"id": None, "type": None, "links": {"self": None}}
    record_event(session, name, {"asset": data}, org_id=asset.org_id)
