"""Field values on library assets: listAssetFields, updateAssetFields, updateAssetField.

Validation and storage of values are the fields resource's (``fields.values``); this module
adds the asset's permission checks and its ``asset_modified`` event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Page
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.values import FieldValues
from cmpapi.server.resources.library.assets import load_asset
from cmpapi.server.resources.library.events import record_asset_event

OWNER = "asset"


def list_asset_fields(
    session: Session, principal: Principal, asset_id: str, offset: int, size: int
) -> Page[FieldValues]:
    """The asset's field values (active fields)."""
    asset = load_asset(session, principal, asset_id, "view")
    return values.list_field_values(session, principal.org_id, OWNER, asset.id, offset, size)


def update_asset_fields(
    session: Session, principal: Principal, links: Links, asset_id: str, items: list[Any]
) -> list[FieldValues]:
    """Replace the asset's field values with the given set."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "edit")
    checked = values.validate_field_values(
        session, principal.org_id, values.inputs_from_items(items)
    )
    values.replace_field_values(session, principal.org_id, OWNER, asset.id, checked)
    asset.modified_at = utcnow()
    record_asset_event(session, links, "asset_modified", asset)
    session.commit()
    return checked


def update_asset_field(
    session: Session,
    principal: Principal,
    links: Links,
    asset_id: str,
    field_id: str,
    payload: Any,
) -> FieldValues:
    """Set one field's values on the asset."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "edit")
    checked = values.validate_field_value(
        session, principal.org_id, field_id, payload, types=values.ASSET_FIELD_TYPES
    )
    values.set_field_value(session, principal.org_id, OWNER, asset.id, checked)
    asset.modified_at = utcnow()
    record_asset_event(session, links, "asset_modified", asset)
    session.commit()
    return checked
