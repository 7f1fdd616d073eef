"""Library assets: create from an upload, read, update and delete by type, list with the
spec's filters, versions. Service functions take ``(session, principal, ...)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page, Repository, lookup
from cmpapi.server.db.search import SEEK, WALK, TitleMatch, sorted_matches, title_match
from cmpapi.server.errors import Forbidden, Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.campaigns import service as campaigns
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.tables import Field as FieldDefinition
from cmpapi.server.resources.fields.tables import FieldValue
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.library import acl, counts, folders, keyed, permissions
from cmpapi.server.resources.library.acl import FolderIds
from cmpapi.server.resources.library.events import record_asset_event
from cmpapi.server.resources.library.tables import (
    ASSET_COLUMNS,
    AclEntry,
    Asset,
    AssetKey,
    AssetLabel,
    AssetVersion,
    Folder,
)
from cmpapi.server.storage.inspect import UploadedFile

NEWEST_FIRST = (Asset.modified_at.desc(),)
ALL_TYPES = {"article", "image", "video", "raw_file", "structured_content"}
# Called in the transaction that gives an asset a new file (renditions register here).
ON_NEW_VERSION: list[Callable[[Session, Asset], None]] = []


@dataclass(frozen=True, slots=True)
class AssetView:
    """An asset with what its wire shapes need besides the row."""

    row: Any  # an Asset or an ``ASSET_COLUMNS`` row
    file_location: str
    labels: list[Any] = field(default_factory=list)  # ResourceLabelResponse


@dataclass(frozen=True, slots=True)
class AssetFilters:
    """listAssets filters, already decoded."""

    types: tuple[str, ...] = ()
    label_values: tuple[tuple[str, ...], ...] = ()  # one tuple of value ids per group
    created_from: datetime | None = None
    created_to: datetime | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    folder_id: str | None = None
    include_subfolders: bool = True
    search_text: str | None = None
    field_values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (field id, any of values)
    campaign_id: str | None = None


def _repo(session: Session, principal: Principal) -> Repository[Asset]:
    return Repository(Asset, session, principal.org_id)


def load_asset(
    session: Session, principal: Principal, asset_id: str, needed: str, type_: str | None = None
) -> Asset:
    """The asset (404 when absent or of another type) if the caller has ``needed`` access."""
    asset = _repo(session, principal).get(asset_id)
    if type_ is not None and asset.type != type_:
        raise NotFound()
    folder = session.get(Folder, asset.folder_id) if asset.folder_id else None
    level = acl.asset_level(session, principal, asset.id, folder.id_path if folder else None)
    if level < acl.LEVELS[needed]:
        raise Forbidden()
    return asset


_FOLDER_PATHS = (Folder.id, Folder.id_path)
_LABEL_COLUMNS = (AssetLabel.asset_id, AssetLabel.value_id)


def views(session: Session, assets: Sequence[Any]) -> list[AssetView]:
    """Attach folder paths (``file_location``) and labels to a page of assets (Assets or
    ``ASSET_COLUMNS`` rows), in prepared reads (``lookup``)."""
    if not assets:
        return []
    folder_ids = [a.folder_id for a in assets if a.folder_id]
    rows = lookup(session, _FOLDER_PATHS, Folder.id, folder_ids)
    paths = {v.row.id: v.path for v in folders.views(session, rows)}
    label_rows = lookup(session, _LABEL_COLUMNS, AssetLabel.asset_id, [a.id for a in assets])
    by_asset: dict[str, list[str]] = {}
    for asset_id, value_id in label_rows:
        by_asset.setdefault(asset_id, []).append(value_id)
    org_id = assets[0].org_id if assets else ""
    names = labels.load_label_names(session, org_id, (v for _, v in label_rows))
    return [
        AssetView(
            a,
            paths.get(a.folder_id or "", "/"),
            list(labels.resource_labels(by_asset.get(a.id, []), names)),
        )
        for a in assets
    ]


def create_asset(
    session: Session,
    principal: Principal,
    links: Links,
    title: str,
    folder_id: str | None,
    file: UploadedFile,
) -> AssetView:
    """A new library asset holding an uploaded file; the caller owns it."""
    check_create_asset(session, principal, folder_id)
    asset = _repo(session, principal).add(
        Asset(
            id=new_id(),
            title=title,
            folder_id=folder_id or None,
            owner_id=principal.user_id,
            **file.columns(),
        )
    )
    _add_version(session, asset, title)
    for hook in ON_NEW_VERSION:
        hook(session, asset)
    acl.grant(
        session,
        principal.org_id,
        ("asset", asset.id),
        ("user", principal.user_id),
        acl.FULL,
        is_owner=True,
    )
    record_asset_event(session, links, "asset_added", asset)
    session.commit()
    return views(session, [asset])[0]


def check_create_asset(session: Session, principal: Principal, folder_id: str | None) -> None:
    """createAsset's refusals, checked again before the upload is copied: 403 without
    library write access or edit access to the folder, 422 naming an unknown folder (the
    spec declares no 404 for createAsset)."""
    require(principal, "library:write")
    if folder_id:
        try:
            folders.load_folder(session, principal, folder_id, "edit")
        except NotFound:
            raise Invalid("Unknown folder", {"folder_id": "No such folder"}) from None


def _add_version(session: Session, asset: Asset, title: str) -> AssetVersion:
    version = AssetVersion(
        id=asset.version_id,
        org_id=asset.org_id,
        asset_id=asset.id,
        version_number=asset.version_number,
        type=asset.type,
        title=title,
        mime_type=asset.mime_type,
        file_size=asset.file_size,
        storage_key=asset.storage_key or "",
    )
    session.add(version)
    session.flush()
    return version


def create_asset_version(
    session: Session,
    principal: Principal,
    links: Links,
    asset_id: str,
    title: str,
    file: UploadedFile,
) -> AssetVersion:
    """A new version of an image, video or raw file: history kept, number bumped."""
    asset = check_create_asset_version(session, principal, asset_id)
    asset.version_number += 1
    asset.version_id = new_id()
    asset.title = title
    for column, value in file.columns().items():
        setattr(asset, column, value)
    asset.modified_at = utcnow()
    version = _add_version(session, asset, title)
    for hook in ON_NEW_VERSION:
        hook(session, asset)
    record_asset_event(session, links, "asset_modified", asset)
    session.commit()
    return version


def check_create_asset_version(session: Session, principal: Principal, asset_id: str) -> Asset:
    """createAssetVersion's refusals (also checked before the upload is copied): the asset
    exists, the caller may edit it, and it holds a file."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "edit")
    if asset.type in ("article", "structured_content"):
        raise NotFound("Articles and structured contents have no file versions")
    return asset


def get_asset(session: Session, principal: Principal, type_: str, asset_id: str) -> AssetView:
    """getImage / getVideo / getRawFile / getArticle."""
    return views(session, [load_asset(session, principal, asset_id, "view", type_)])[0]


def update_asset(
    session: Session,
    principal: Principal,
    links: Links,
    type_: str,
    asset_id: str,
    changes: dict[str, Any],
) -> AssetView:
    """updateImage / updateVideo / updateRawFile: only the given fields change."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "edit", type_)
    if "folder_id" in changes:  # "" or null: the library's root, as createAsset has it
        changes["folder_id"] = changes["folder_id"] or None
    if changes.get("folder_id"):
        folders.load_folder(session, principal, changes["folder_id"], "edit")
    requested = changes.pop("labels", None)
    for key, value in changes.items():
        setattr(asset, key, value)
    if requested is not None:
        _set_labels(
            session, asset, labels.validate_resource_labels(session, asset.org_id, requested)
        )
    asset.modified_at = utcnow()
    record_asset_event(session, links, "asset_modified", asset)
    session.commit()
    return views(session, [asset])[0]


def _set_labels(session: Session, asset: Asset, checked: list[labels.CheckedLabel]) -> None:
    session.execute(delete(AssetLabel).where(AssetLabel.asset_id == asset.id))
    for label in checked:
        for value in label.values:
            session.add(AssetLabel(asset_id=asset.id, group_id=label.group.id, value_id=value.id))
    session.flush()


def delete_asset(
    session: Session, principal: Principal, links: Links, type_: str, asset_id: str
) -> list[str]:
    """Delete an asset the caller owns; returns the storage keys to remove after commit."""
    require(principal, "library:write")
    asset = load_asset(session, principal, asset_id, "delete", type_)
    keys = list(
        session.scalars(select(AssetVersion.storage_key).where(AssetVersion.asset_id == asset.id))
    )
    session.execute(
        delete(AclEntry).where(AclEntry.resource_type == "asset", AclEntry.resource_id == asset.id)
    )
    record_asset_event(session, links, "asset_removed", asset)
    values.delete_field_values(session, asset.org_id, "asset", asset.id)
    _repo(session, principal).delete(asset)
    session.commit()
    return [k for k in keys if k]


def list_assets(
    session: Session, principal: Principal, filters: AssetFilters, offset: int, size: int
) -> tuple[Page[Any], list[AssetView]]:
    """Visible assets matching the filters, newest change first, with the total count
    (rows of ``ASSET_COLUMNS``)."""
    # The spec's default lists every type: filtering on it would only cost (the count then
    # reads every row instead of an index; 52 vs 5 ms on 100,000 assets).
    types = frozenset(filters.types) if filters.types else None
    types = None if types is None or types >= ALL_TYPES else types
    folder, folder_ids = None, None
    if filters.folder_id is not None:
        folder = folders.filter_folder(session, principal, filters.folder_id, "folder_id")
        folder_ids = _folder_ids(session, folder, filters.include_subfolders)
    repo = _repo(session, principal)
    granted = acl.grants(session, principal)
    where: list[ColumnElement[bool]] | None = None
    org_id = principal.org_id
    walks = _key_filters(session, org_id, filters, types, folder, folder_ids, granted)
    search = title_match(session, Asset.title, filters.search_text) if filters.search_text else None
    if walks is not None:
        page = keyed.page(session, org_id, walks, offset, size)
    else:
        where = _conditions(session, principal, filters, types, folder_ids, granted, search)
        depth = offset + size
        plan = search.plan(session, counts.assets(session, org_id), depth) if search else WALK
        if search is not None and plan == SEEK:
            page = sorted_matches(session, ASSET_COLUMNS, Asset, org_id, where, offset, size)
        else:  # conditions are built per request: cached only when there are none
            page = repo.rows(
                ASSET_COLUMNS,
                *(search.walking(where, plan) if search is not None else where),
                order_by=NEWEST_FIRST,
                offset=offset,
                page_size=size,
                cache=not where,
            )
    total = counts.total(session, principal, filters, types, folder_ids, granted)
    if total is None:  # e.g. a search: a count of its matches, O(matches) (rowid seeks)
        if where is None:
            where = _conditions(session, principal, filters, types, folder_ids, granted, search)
        if search is not None and len(where) == 1 and where[0] is search.condition:
            total = _search_total(session, org_id, search)  # an admin's search alone
        if total is None:
            total = repo.count(*where)
    page = replace(page, total=total)
    return page, views(session, page.items)


OTHERS_MAX = 10_000  # other organizations' assets a search's count leaves out by rowid


def _search_total(session: Session, org_id: str, search: TitleMatch) -> int | None:
    """The organization's matches, counted from the search index when the database holds
    few assets of other organizations (one organization, or the demo's beside it): the
    index's matches but theirs. None: the caller counts through the table."""
    others = counts.database_assets(session) - counts.assets(session, org_id)
    if others > OTHERS_MAX:
        return None
    rowid: ColumnElement[int] = literal_column(f"{Asset.__tablename__}.rowid")
    # Two range seeks in the org_id index; "!=" walked all of it.
    theirs = select(rowid).where(or_(Asset.org_id < org_id, Asset.org_id > org_id))
    return search.count(session, theirs if others else None)


def _key_filters(
    session: Session,
    org_id: str,
    f: AssetFilters,
    types: frozenset[str] | None,
    folder: Folder | None,
    folder_ids: FolderIds | None,
    granted: acl.Grants | None,
) -> list[keyed.KeyFilter] | None:
    """The filters as walks of their own index rows (``keyed``), or None when one of them
    has none: a type, dates, search text, a campaign, one folder without its subfolders, a
    long field value. (Those walk the organization's order, probing each asset.)"""
    others = (f.created_from, f.created_to, f.modified_from, f.modified_to, f.campaign_id)
    if types is not None or f.search_text or any(v is not None for v in others):
        return None
    if folder is not None and not f.include_subfolders:
        return None
    out = [keyed.label_filter(session, org_id, values) for values in f.label_values]
    for field_id, wanted in f.field_values:
        if not _own_field(session, org_id, field_id):
            continue  # the spec: unknown fields are ignored
        if not all(_keyed_value(v) for v in wanted):
            return None
        out.append(keyed.field_filter(field_id, wanted))
    if folder is not None and folder_ids is not None:
        out.append(keyed.folder_filter(org_id, folder.id, folder_ids))
    # A folder filter inside a granted folder needs no visibility test: all of it is seen.
    if granted is not None and not (
        folder and any(folder.id_path.startswith(r) for r in granted.roots)
    ):
        roots = [acl.ancestor_ids(r)[-1] for r in granted.roots]
        out.append(keyed.visible_filter(roots, granted.accessors))
    return out or None


def _keyed_value(value: str) -> bool:
    """A field value with key rows: short text. (A value starting with ``{`` may be meant
    to match a file object's JSON, which the value-list probe compares on SQLite.)"""
    return len(value) <= counts.SHORT and not value.startswith("{")


def _own_field(session: Session, org_id: str, field_id: str) -> bool:
    definition = session.get(FieldDefinition, field_id)
    return definition is not None and definition.org_id == org_id


def _conditions(
    session: Session,
    principal: Principal,
    f: AssetFilters,
    types: frozenset[str] | None,
    folders: FolderIds | None,
    granted: acl.Grants | None,
    search: TitleMatch | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [] if types is None else [Asset.type.in_(types)]
    for column, low, high in (
        (Asset.created_at, f.created_from, f.created_to),
        (Asset.modified_at, f.modified_from, f.modified_to),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if search is not None:
        where.append(search.condition)
    if folders is not None:
        where.append(Asset.folder_id.in_(folders))
    # A probe per asset the page walks, not the list of every labelled asset: the first
    # page then costs the same at 1,000 and 1,000,000 assets.
    for value_ids in f.label_values:  # any value of a group; every group given
        where.append(
            exists().where(AssetLabel.asset_id == Asset.id, AssetLabel.value_id.in_(value_ids))
        )
    if f.campaign_id is not None:  # the library assets the campaign's tasks took in
        where.append(Asset.id.in_(campaigns.library_asset_ids(principal.org_id, f.campaign_id)))
    for field_id, wanted in f.field_values:
        matching = _with_field_values(session, principal.org_id, field_id, set(wanted))
        if matching is not None:
            where.append(matching)
    visible = acl.visible_assets(session, principal, granted)
    return [*where, visible] if visible is not None else where


def _with_field_values(
    session: Session, org_id: str, field_id: str, wanted: set[str]
) -> ColumnElement[bool] | None:
    """Assets holding any of ``wanted`` in the field; None for an unknown field (the spec:
    unknown fields are ignored). A probe per asset the page walks: reading every value of
    the field into Python cost seconds at 1,000,000 assets. Short values are looked up in
    the asset's key rows; others in the asset's value list (``json_each`` /
    ``jsonb_array_elements_text``)."""
    if not _own_field(session, org_id, field_id):
        return None
    if all(_keyed_value(v) for v in wanted):
        return exists().where(
            AssetKey.asset_id == Asset.id,
            AssetKey.kind == "field",
            AssetKey.key == field_id,
            AssetKey.sub.in_(sorted(wanted)),
        )
    postgresql = session.get_bind().dialect.name == "postgresql"
    elements = func.jsonb_array_elements_text if postgresql else func.json_each
    element = elements(FieldValue.value).table_valued("value").alias("element")
    return exists(
        select(literal(1))
        .select_from(FieldValue)
        .join(element, true())  # a table function of the row: LATERAL by nature
        .where(
            FieldValue.owner_type == "asset",
            FieldValue.owner_id == Asset.id,
            FieldValue.field_id == field_id,
            FieldValue.org_id == org_id,
            element.c.value.in_(sorted(wanted)),
        )
    )


def _folder_ids(session: Session, folder: Folder, subfolders: bool) -> FolderIds:
    """The ids of the filtered folder and, with ``subfolders``, of every folder under it."""
    if not subfolders:
        return [folder.id]
    subtree = select(Folder.id).where(acl.under(session, folder.id_path))
    return acl.materialised(session, subtree)


def get_asset_url(session: Session, principal: Principal, asset_id: str) -> Asset:
    """getAssetUrl: the asset, for its type endpoint URL."""
    return load_asset(session, principal, asset_id, "view")


def _has_assets(session: Session, folder: Folder) -> bool:
    return session.scalar(select(Asset.id).where(Asset.folder_id == folder.id).limit(1)) is not None


folders.CONTENT_CHECKS.append(_has_assets)


@permissions.register("asset")
def _load_for_permissions(
    session: Session, principal: Principal, resource_id: str, manage: bool
) -> Asset:
    return load_asset(session, principal, resource_id, "delete" if manage else "view")


def file_assets(
    session: Session, principal: Principal, guids: list[str]
) -> dict[str, Asset | None]:
    """createFileUrls: each guid's asset when it holds a file the caller may view."""
    out: dict[str, Asset | None] = {}
    for guid in dict.fromkeys(guids):
        try:
            asset: Asset | None = load_asset(session, principal, guid, "view")
        except (NotFound, Forbidden):
            asset = None
        out[guid] = asset if asset is not None and asset.storage_key else None
    return out
