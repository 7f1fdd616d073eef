"""Library tables: folders and the access-control entries of folders and assets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow


class Folder(OrgScoped, Base):
    """A library folder. ``id_path`` is the materialised path of ids, ``/root/.../self/``:
    subtree queries and inherited permissions are one ``LIKE`` away."""

    __tablename__ = "library_folders"
    __table_args__ = (
        Index("ix_library_folders_org_modified", "org_id", "modified_at", "id"),
        # Subtrees are ``id_path LIKE '/a/b/%'``: PostgreSQL serves a prefix LIKE from a
        # btree only with the pattern operator class (outside the "C" collation); without
        # it, a folder filter scanned every folder.
        Index(
            "ix_library_folders_id_path",
            "id_path",
            postgresql_ops={"id_path": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("library_folders.id", ondelete="RESTRICT"), index=True
    )
    id_path: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class AclEntry(OrgScoped, Base):
    """Access of one user or team to one folder or asset.

    ``level`` orders the spec's access types: view 1 < comment 2 < edit 3 < delete 4.
    Owners hold ``delete`` and may manage permissions.
    """

    __tablename__ = "library_acl"
    # A member's own entries by accessor first: the primary key led with resource_type and
    # walked every asset's owner entry (100,000 at 100,000 assets) to find a member's few.
    __table_args__ = (
        Index("ix_library_acl_accessor", "accessor_id", "resource_type", "resource_id"),
    )

    resource_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    accessor_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    accessor_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(OrgScoped, Base):
    """A library asset (image, video, raw file or article); the file is the current
    version's object in storage (``storage_key``)."""

    __tablename__ = "library_assets"
    __table_args__ = (
        # folder_id and type ride along so the folder, type and ACL conditions of a list
        # page are checked on index entries, without reading the rows they skip.
        Index("ix_library_assets_org_modified", "org_id", "modified_at", "id", "folder_id", "type"),
        # A type filter's pages seek straight to their type (offset 10,000 of 1,000,000
        # assets walked 100,000 entries of the index above for a 10 % type).
        Index("ix_library_assets_org_type_modified", "org_id", "type", "modified_at", "id"),
        # One folder's own assets (include_subfolder_assets=false) in page order.
        Index("ix_library_assets_org_folder_modified", "org_id", "folder_id", "modified_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    folder_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("library_folders.id", ondelete="RESTRICT")
    )
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    mime_type: Mapped[str] = mapped_column(String(200))
    file_extension: Mapped[str | None] = mapped_column(String(20))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str | None] = mapped_column(String(200))
    html_body: Mapped[str | None] = mapped_column(Text)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_se_indexing: Mapped[bool] = mapped_column(Boolean, default=False)
    alt_text: Mapped[str | None] = mapped_column(String(2000))
    attribution_text: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    expires_at: Mapped[datetime | None]
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    version_id: Mapped[str] = mapped_column(String(32), default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetVersion(OrgScoped, Base):
    """One version of an asset's file; the asset row mirrors the newest."""

    __tablename__ = "library_asset_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), index=True
    )
    version_number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(200))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetLabel(Base):
    """A label value set on an asset (filterable with ``listAssets?label=``)."""

    __tablename__ = "library_asset_labels"
    # A label filter's page in listAssets' order, however deep: the asset's modified_at,
    # copied here by triggers (migration a1e4c9d2b7f3), makes the order an index walk.
    __table_args__ = (
        Index("ix_library_asset_labels_value_modified", "value_id", "modified_at", "asset_id"),
    )

    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    value_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    modified_at: Mapped[datetime | None] = mapped_column()  # the asset's; set by triggers


class AssetKey(Base):
    """An entry of an asset under a key a listAssets filter seeks, in the list's order.

    Database triggers (migration f3a8c5d2e9b1) keep one row per:

    - ``kind="folder"``: folder (``key``) holding the asset at any depth: its own folder and
      every folder above it (a subtree filter, a member's granted folders);
    - ``kind="grant"``: user or team (``key``; ``sub`` its accessor type) holding an entry of
      the asset's ACL (a member's directly granted and own assets);
    - ``kind="field"``: field (``key``) and one of its short text values (``sub``, up to
      ``counts.SHORT`` characters) the asset holds (a ``fields`` filter).

    ``modified_at`` is the asset's, so ``(kind, key, sub, modified_at, asset_id)`` walks one
    key's assets in listAssets' order: a deep page of a filter holding 15-20 % of the
    library reads ``offset`` entries of its own instead of ``offset / share`` of the
    organization's order with a probe each (bench/README.md, "Flat list pages").
    No foreign key: a trigger removes an asset's rows, with or without SQLite's
    ``foreign_keys`` pragma.
    """

    __tablename__ = "library_asset_keys"
    # WITHOUT ROWID on SQLite: the rows live in the primary key's b-tree, not in a rowid
    # table besides it (100,000 assets: 513,000 rows; a third less space).
    __table_args__ = (
        Index("ix_library_asset_keys_walk", "kind", "key", "sub", "modified_at", "asset_id"),
        {"sqlite_with_rowid": False},
    )

    asset_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), primary_key=True)
    modified_at: Mapped[datetime | None] = mapped_column()


class AssetLineage(OrgScoped, Base):
    """Where an asset (a version, maybe a rendition) is used outside the CMP."""

    __tablename__ = "library_asset_lineages"
    __table_args__ = (Index("ix_library_asset_lineages_org_created", "org_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    uri: Mapped[str] = mapped_column(String(2048))
    icon_url: Mapped[str | None] = mapped_column(String(2048))
    rendition_id: Mapped[str | None] = mapped_column(String(32))
    used_in: Mapped[str] = mapped_column(String(20), default="external")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RelatedAsset(OrgScoped, Base):
    """An ordered "related assets" link from one asset to another."""

    __tablename__ = "library_related_assets"

    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), primary_key=True
    )
    related_id: Mapped[str] = mapped_column(
        String(32),
        ForeignKey("library_assets.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    position: Mapped[int] = mapped_column(Integer)


class RenditionConfig(OrgScoped, Base):
    """How to derive a rendition from an image: fit inside width x height, re-encode."""

    __tablename__ = "library_rendition_configs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    asset_type: Mapped[str] = mapped_column(String(20), default="image")
    input_format: Mapped[str | None] = mapped_column(String(20))  # None: any image
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    output_format: Mapped[str | None] = mapped_column(String(20))  # None: the input's
    quality: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rendition(OrgScoped, Base):
    """One rendition of one asset version, made in a background job."""

    __tablename__ = "library_renditions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[str] = mapped_column(String(32))
    config_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("library_rendition_configs.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="InProgress")
    storage_key: Mapped[str | None] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100), default="")
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetCount(Base):
    """A delta of how many assets a key holds: the counts behind listAssets' ``total_count``.

    Database triggers (migration 5b1d0c7e9a42) add one row per change, ``+1`` or ``-1``:
    ``kind="asset"`` for (organization, folder, type), ``kind="label"`` for a label value,
    ``kind="field"`` for (field, value) of asset field values of up to 64 characters
    (``org_id`` empty for the last two: their ids are unique). Inserting instead of
    updating one row keeps concurrent writers from queuing on it; ``counts.compact`` folds
    the rows of a key into one, periodically. A total is then a sum over a few rows,
    whatever the size of the library (``count(*)`` of 1,000,000 assets reads them all).
    """

    __tablename__ = "library_counts"
    __table_args__ = (Index("ix_library_counts_key", "kind", "org_id", "key", "sub", "n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    org_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(32))  # folder ("" = root), label value, field
    sub: Mapped[str] = mapped_column(String(64))  # asset type; field value; "" for labels
    n: Mapped[int] = mapped_column(Integer)


# What listAssets reads of an asset (``assets.AssetView`` and its mapping).
ASSET_COLUMNS = (
    Asset.id,
    Asset.org_id,
    Asset.type,
    Asset.title,
    Asset.mime_type,
    Asset.file_extension,
    Asset.created_at,
    Asset.modified_at,
    Asset.folder_id,
    Asset.is_archived,
    Asset.html_body,
    Asset.storage_key,
)
