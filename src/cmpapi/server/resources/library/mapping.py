"""Library rows to wire models."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library import acl
from cmpapi.server.resources.library.assets import AssetView
from cmpapi.server.resources.library.events import asset_self
from cmpapi.server.resources.library.folders import FolderView
from cmpapi.server.resources.library.permissions import PermissionView
from cmpapi.server.resources.library.tables import (
    Asset,
    AssetLineage,
    AssetVersion,
    Rendition,
    RenditionConfig,
)
from cmpapi.wire import (
    AssetLineageResponse,
    AssetResponse,
    BasePermissionsResponseSchema,
    DetailedAssetRenditionResponse,
    FolderResponse,
    LibraryArticle,
    LibraryAssetVersionResponse,
    LibraryImage,
    LibraryRawFile,
    LibraryVideo,
    RelatedAssetItem,
    RenditionConfigResponse,
)

_TAGS = uuid.UUID("0b6f8a3e-2f4c-4d8e-9a61-5e2d7c1f9b40")


def tag_guid(org_id: str, name: str) -> str:
    """Tags are stored by name; their guid is stable per organization and name."""
    return uuid.uuid5(_TAGS, f"{org_id}:{name.casefold()}").hex


def timestamp(value: datetime) -> str:
    """ISO 8601 UTC with ``Z``, whole seconds (the CMP's wire format)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def folder_response(view: FolderView, links: Links) -> FolderResponse:
    """getFolder, createFolder, updateFolder."""
    return FolderResponse.model_validate(folder_item(view, links))


def folder_item(view: FolderView, links: Links) -> dict[str, Any]:
    """A ``FolderResponse`` as plain data (listFolders: ``page_response`` checks it)."""
    row = view.row
    return {
        "id": row.id,
        "name": row.name,
        "parent_folder_id": row.parent_id,
        "path": view.path,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "links": {
            "self": links.to("getFolder", id=row.id),
            "parent_folder": links.to("getFolder", id=row.parent_id) if row.parent_id else None,
            "child_folders": links.to("listFolders", query=[("parent_folder_id", row.id)]),
            "assets": links.to(
                "listAssets",
                query=[("folder_id", row.id), ("include_subfolder_assets", "false")],
            ),
        },
    }


# accessor type -> the operation serving it
_ACCESSORS = {"user": "getUser", "team": "getTeam"}


def permission_item(view: PermissionView, links: Links) -> BasePermissionsResponseSchema:
    entry = view.entry
    operation = _ACCESSORS.get(entry.accessor_type)
    return BasePermissionsResponseSchema.model_validate(
        {
            "id": entry.accessor_id,
            "name": view.name,
            "type": entry.accessor_type,
            "access_type": acl.NAMES[entry.level],
            "is_owner": entry.is_owner,
            "links": {"accessor": links.to(operation, id=entry.accessor_id) if operation else None},
        }
    )


FileUrl = Callable[[Asset], str]
"""Signs a download URL for an asset's current file (built by the route from the store)."""


def _common(view: AssetView, links: Links, file_url: FileUrl) -> dict[str, Any]:
    row = view.row
    return {
        "id": row.id,
        "title": row.title,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "folder_id": row.folder_id,
        "file_location": view.file_location,
        "is_archived": row.is_archived,
        "labels": view.labels,
        "owner_organization_id": row.org_id,
        "expires_at": timestamp(row.expires_at) if row.expires_at else None,
        "thumbnail_url": None,
        "version_number": row.version_number,
        "version_id": row.version_id,
        "tags": [{"guid": tag_guid(row.org_id, t), "name": t} for t in row.tags or []],
        "owner_id": row.owner_id or "",
        "url": file_url(row) if row.storage_key else None,
    }


def _file_fields(row: Asset) -> dict[str, Any]:
    return {
        "description": row.description,
        "mime_type": row.mime_type,
        "file_extension": row.file_extension,
        "file_size": row.file_size,
        "is_public": row.is_public,
        "allow_se_indexing": row.allow_se_indexing,
        "attribution_text": row.attribution_text,
    }


def library_image(view: AssetView, links: Links, file_url: FileUrl) -> LibraryImage:
    row = view.row
    return LibraryImage.model_validate(
        _common(view, links, file_url)
        | _file_fields(row)
        | {
            "alt_text": row.alt_text,
            "image_resolution": {"width": row.width or 0, "height": row.height or 0},
            "focal_point": None,
        }
    )


def library_video(view: AssetView, links: Links, file_url: FileUrl) -> LibraryVideo:
    body = _common(view, links, file_url) | _file_fields(view.row)
    return LibraryVideo.model_validate(body | {"alt_text": view.row.alt_text})


def library_raw_file(view: AssetView, links: Links, file_url: FileUrl) -> LibraryRawFile:
    return LibraryRawFile.model_validate(_common(view, links, file_url) | _file_fields(view.row))


def library_article(view: AssetView, links: Links, file_url: FileUrl) -> LibraryArticle:
    body = _common(view, links, file_url) | {
        "html_body": view.row.html_body or "",
        "group_id": None,
        "meta_title": None,
        "meta_description": None,
        "meta_url": None,
        "meta_keywords": [],
        "source_article": None,
        "source_name": None,
        "authors": [],
        "lang_code": None,
        "pixel_key": view.row.id,
        "images": [],
    }
    return LibraryArticle.model_validate(body)


BY_TYPE: dict[str, Callable[[AssetView, Links, FileUrl], BaseModel]] = {
    "image": library_image,
    "video": library_video,
    "raw_file": library_raw_file,
    "article": library_article,
}


def asset_response(view: AssetView, links: Links, file_url: FileUrl) -> AssetResponse:
    """The generic shape of createAsset and listAssets; ``links.self`` is the type URL."""
    return AssetResponse.model_validate(asset_item(view, links, file_url))


def asset_item(view: AssetView, links: Links, file_url: FileUrl) -> dict[str, Any]:
    """An ``AssetResponse`` as plain data (listAssets: ``page_response`` checks it)."""
    row = view.row
    if row.type == "article":
        content = {"type": "html_body", "value": row.html_body or ""}
    elif row.type == "structured_content":  # no file: the API URL serving it
        content = {"type": "api_url", "value": asset_self(links, row)}
    else:
        content = {"type": "url", "value": file_url(row)}
    return {
        "id": row.id,
        "title": row.title,
        "type": row.type,
        "mime_type": row.mime_type,
        "file_extension": row.file_extension,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "folder_id": row.folder_id,
        "file_location": view.file_location,
        "is_archived": row.is_archived,
        "content": content,
        "labels": view.labels,
        "links": {"self": asset_self(links, row)},
        "owner_organization_id": row.org_id,
        "thumbnail_url": None,
    }


def version_response(
    version: AssetVersion, asset: Asset, links: Links, file_url: FileUrl
) -> LibraryAssetVersionResponse:
    return LibraryAssetVersionResponse.model_validate(
        {
            "asset_id": version.asset_id,
            "version_number": version.version_number,
            "title": version.title,
            "type": version.type,
            "mime_type": version.mime_type,
            "created_at": timestamp(version.created_at),
            "content": {"type": "url", "value": file_url(asset)},
            "links": {"asset": asset_self(links, asset)},
        }
    )


def lineage_item(row: Any, links: Links) -> dict[str, Any]:
    """listAssetLineages' item as plain data (``page_response`` checks it), from a
    ``relations.LIST_COLUMNS`` row or an AssetLineage."""
    return {
        "id": row.id,
        "name": row.name,
        "asset_id": row.asset_id,
        "version_id": row.version_id,
        "used_in": row.used_in,
        "uri": row.uri,
        "icon_url": row.icon_url,
        "rendition_id": row.rendition_id,
        "created_at": timestamp(row.created_at),
        "links": {
            "self": links.to("deleteAssetLineage", asset_id=row.asset_id, lineage_id=row.id),
            "asset": links.to("getAssetUrl", asset_id=row.asset_id),
        },
    }


def lineage_response(row: AssetLineage, links: Links) -> AssetLineageResponse:
    """createAssetLineage: ``lineage_item`` validated."""
    return AssetLineageResponse.model_validate(lineage_item(row, links))


def related_item(view: AssetView, links: Links, file_url: FileUrl) -> RelatedAssetItem:
    generic = asset_response(view, links, file_url)
    return RelatedAssetItem.model_validate(
        {
            "id": generic.id,
            "title": generic.title,
            "type": generic.type,
            "mime_type": generic.mime_type,
            "file_extension": generic.file_extension,
            "content": generic.content.model_dump(mode="json"),
            "links": {"self": generic.links.self},
        }
    )


def rendition_config(row: RenditionConfig) -> RenditionConfigResponse:
    return RenditionConfigResponse.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "asset_type": row.asset_type,
            "input_format": row.input_format,
            "width": row.width,
            "height": row.height,
            "output_format": row.output_format,
            "quality": row.quality,
        }
    )


def rendition_item(row: Any, sign: Callable[[str, str, str], str]) -> dict[str, Any]:
    """listAssetRenditions' item as plain data (``page_response`` checks it), from a
    ``renditions.LIST_COLUMNS`` row or a Rendition; the base of ``rendition_detail``."""
    extension = row.mime_type.rpartition("/")[2] if row.mime_type else ""
    url = sign(row.storage_key, f"{row.name}.{extension}", row.mime_type) if row.storage_key else ""
    return {
        "id": row.id,
        "name": row.name,
        "created_at": timestamp(row.created_at),
        "mime_type": row.mime_type,
        "url": url,
    }


def rendition_detail(
    row: Rendition, asset: Asset, sign: Callable[[str, str, str], str]
) -> DetailedAssetRenditionResponse:
    return DetailedAssetRenditionResponse.model_validate(
        rendition_item(row, sign)
        | {
            "modified_at": timestamp(row.modified_at),
            "original_asset_id": row.asset_id,
            "rendition_config_id": row.config_id,
            "width": row.width,
            "height": row.height,
            "alt_text": asset.alt_text,
            "asset_type": asset.type,
            "status": row.status,
        }
    )
