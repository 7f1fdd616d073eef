"""Asset lineages (where an asset is used) and related assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.library import acl
from cmpapi.server.resources.library.assets import AssetView, load_asset, views
from cmpapi.server.resources.library.tables import Asset, AssetLineage, RelatedAsset
from cmpapi.wire import AssetLineageCreateRequest

OLDEST_FIRST = (AssetLineage.created_at,)


def create_asset_lineage(
    session: Session, principal: Principal, asset_id: str, body: AssetLineageCreateRequest
) -> AssetLineage:
    """Record that the asset's current version is used at ``uri``."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "view")
    icon = body.icon_url if isinstance(body.icon_url, str) else None
    rendition = body.rendition_id if isinstance(body.rendition_id, str) else None
    if "://" in body.uri and not body.uri.startswith(("http://", "https://")):
        raise Invalid("External URIs must start with http:// or https://", {"uri": body.uri[:100]})
    lineage = Repository(AssetLineage, session, principal.org_id).add(
        AssetLineage(
            asset_id=asset.id,
            version_id=asset.version_id,
            name=body.name,
            uri=body.uri,
            icon_url=icon,
            rendition_id=rendition,
        )
    )
    session.commit()
    return lineage


def delete_asset_lineage(
    session: Session, principal: Principal, asset_id: str, lineage_id: str
) -> None:
    """Remove one lineage of the asset."""
    require(principal, "library:write")
    load_asset(session, principal, asset_id, "view")
    repo = Repository(AssetLineage, session, principal.org_id)
    lineage = repo.get(lineage_id)
    if lineage.asset_id != asset_id:
        raise NotFound()
    repo.delete(lineage)
    session.commit()


# What a page of lineages reads, as module-level columns and clauses (``Repository.rows``
# prepares them once per combination of filters; the request's values go in ``params``).
LIST_COLUMNS = (
    AssetLineage.id,
    AssetLineage.asset_id,
    AssetLineage.version_id,
    AssetLineage.name,
    AssetLineage.uri,
    AssetLineage.icon_url,
    AssetLineage.rendition_id,
    AssetLineage.used_in,
    AssetLineage.created_at,
)
_OF_ASSETS = AssetLineage.asset_id.in_(bindparam("asset_ids", expanding=True))
_USED_IN = AssetLineage.used_in == bindparam("used_in")
_CREATED_FROM = AssetLineage.created_at >= bindparam("created_from")
_CREATED_TO = AssetLineage.created_at <= bindparam("created_to")


def list_asset_lineages(
    session: Session,
    principal: Principal,
    asset_ids: list[str],
    used_in: str | None,
    created: tuple[datetime | None, datetime | None],
    offset: int,
    size: int,
) -> Page[Any]:
    """Lineages of the assets the caller may view, oldest first (rows of
    ``LIST_COLUMNS``)."""
    filters = Filters()
    if asset_ids:
        filters.add(_OF_ASSETS, asset_ids=list(asset_ids))
    if used_in:
        filters.add(_USED_IN, used_in=used_in)
    if created[0] is not None:
        filters.add(_CREATED_FROM, created_from=created[0])
    if created[1] is not None:
        filters.add(_CREATED_TO, created_to=created[1])
    visible = acl.visible_assets(session, principal)
    if visible is not None:
        # A member's view holds the request's ids: built for the call (``cache=False``).
        filters.add(AssetLineage.asset_id.in_(select(Asset.id).where(visible)))
    return Repository(AssetLineage, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=OLDEST_FIRST,
        offset=offset,
        page_size=size,
        params=filters.values,
        cache=visible is None,
    )


def list_related_assets(
    session: Session, principal: Principal, asset_id: str, offset: int, size: int
) -> tuple[Page[RelatedAsset], list[AssetView]]:
    """The asset's related assets in their saved order (those the caller may view)."""
    load_asset(session, principal, asset_id, "view")
    where: list[ColumnElement[bool]] = [RelatedAsset.asset_id == asset_id]
    visible = acl.visible_assets(session, principal)
    if visible is not None:
        where.append(RelatedAsset.related_id.in_(select(Asset.id).where(visible)))
    rows = session.scalars(
        select(RelatedAsset)
        .where(RelatedAsset.org_id == principal.org_id, *where)
        .order_by(RelatedAsset.position)
        .offset(offset)
        .limit(size + 1)
    ).all()
    page = Page(rows[:size], offset, size, len(rows) > size)
    related = {
        a.id: a
        for a in session.scalars(
            select(Asset).where(Asset.id.in_([r.related_id for r in page.items]))
        )
    }
    return page, views(session, [related[r.related_id] for r in page.items])


def replace_related_assets(
    session: Session, principal: Principal, asset_id: str, related_ids: list[str]
) -> list[str]:
    """Replace all related assets (order kept, duplicates dropped); each must be viewable."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "edit")
    ordered = list(dict.fromkeys(related_ids))
    for i, related_id in enumerate(ordered):
        if related_id == asset.id:
            raise Invalid(
                "An asset cannot be related to itself", {f"related_assets.{i}.id": related_id}
            )
        try:
            load_asset(session, principal, related_id, "view")
        except NotFound as exc:
            raise NotFound(f"No asset {related_id}", {f"related_assets.{i}.id": "Unknown"}) from exc
    session.execute(delete(RelatedAsset).where(RelatedAsset.asset_id == asset.id))
    for position, related_id in enumerate(ordered):
        session.add(
            RelatedAsset(
                org_id=asset.org_id, asset_id=asset.id, related_id=related_id, position=position
            )
        )
    session.commit()
    return ordered
