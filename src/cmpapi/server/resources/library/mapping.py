"""Library rows to wire models."""

from __future__ import annotations

from datetime import datetime

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library import acl
from cmpapi.server.resources.library.folders import FolderView
from cmpapi.server.resources.library.permissions import PermissionView
from cmpapi.wire import BasePermissionsResponseSchema, FolderResponse


def timestamp(value: datetime) -> str:
    """ISO 8601 UTC with ``Z``, whole seconds (the CMP's wire format)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def folder_response(view: FolderView, links: Links) -> FolderResponse:
    row = view.row
    return FolderResponse.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "parent_folder_id": row.parent_id,
            "path": view.path,
            "created_at": timestamp(row.created_at),
            "modified_at": timestamp(row.modified_at),
            "links": {
                "self": links.api("folders", row.id),
                "parent_folder": links.api("folders", row.parent_id) if row.parent_id else None,
                "child_folders": links.api("folders", query=[("parent_folder_id", row.id)]),
                "assets": links.api(
                    "assets", query=[("folder_id", row.id), ("include_subfolder_assets", "false")]
                ),
            },
        }
    )


def permission_item(view: PermissionView, links: Links) -> BasePermissionsResponseSchema:
    entry = view.entry
    collection = {"user": "users", "team": "teams"}.get(entry.accessor_type)
    return BasePermissionsResponseSchema.model_validate(
        {
            "id": entry.accessor_id,
            "name": view.name,
            "type": entry.accessor_type,
            "access_type": acl.NAMES[entry.level],
            "is_owner": entry.is_owner,
            "links": {"accessor": links.api(collection, entry.accessor_id) if collection else None},
        }
    )
