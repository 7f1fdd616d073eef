"""Structured-content rows -> wire models: content types (``type_model``,
``content_type``), their versions (``version_model``, ``sc_version``), the created /
updated answers, and a content's details (``content_details``: ``ContentDetailsModel``
with ``content_type`` as ``VersionedContentTypeModel`` and ``latest_fields_version``).
``library_structured_content`` is the Library tag's ``LibraryStructuredContent``.
Optional spec fields the row has no value for are left out (none of them is nullable)."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.assets import AssetView
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.structured_content.contents import ContentView
from cmpapi.server.resources.structured_content.tables import (
    Content,
    ContentFieldsVersion,
    ContentType,
    ContentTypeVersion,
)
from cmpapi.wire import (
    BaseContentTypeModel,
    BaseContentTypeVersionModel,
    ContentDetailsModel,
    LibraryStructuredContent,
    SCContentType,
    SCContentTypeCreateResponse,
    SCContentTypeVersion,
    VersionedContentTypeModel,
)

_TYPE_OPTIONAL = ("description", "disabled", "thumbnail_guid", "source", "source_id")


def _type_dict(t: ContentType, links: Links) -> dict[str, Any]:
    out: dict[str, Any] = {
        "content_type_guid": t.id,
        "name": t.name,
        "component": t.component,
        "disabled": t.disabled,
        "created_by": t.created_by,
        "updated_by": t.updated_by,
        "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
        "links": {
            "self": links.to("getSCContentType", content_type_id=t.id),
            "versions": links.to("listSCContentTypeVersions", content_type_id=t.id),
        },
    }
    for key in (*_TYPE_OPTIONAL, "source_metadata"):
        value = getattr(t, key)
        if value is not None:
            out[key] = value
    return out


def _version_dict(t: ContentType, v: ContentTypeVersion, links: Links) -> dict[str, Any]:
    return {
        "version_guid": v.id,
        "created_by": v.created_by,
        "created_at": timestamp(v.created_at),
        "latest": t.latest_version_id == v.id,
        "expected_locales": list(v.expected_locales),
        "links": {
            "self": links.to("getSCContentTypeVersion", content_type_id=t.id, version_id=v.id),
            "content_type": links.to("getSCContentType", content_type_id=t.id),
        },
    }


def type_model(t: ContentType, links: Links) -> BaseContentTypeModel:
    """listSCContentTypes items."""
    return BaseContentTypeModel.model_validate(_type_dict(t, links))


def version_model(
    t: ContentType, v: ContentTypeVersion, links: Links
) -> BaseContentTypeVersionModel:
    """listSCContentTypeVersions items (without the field definitions)."""
    return BaseContentTypeVersionModel.model_validate(_version_dict(t, v, links))


def sc_version_dict(t: ContentType, v: ContentTypeVersion, links: Links) -> dict[str, Any]:
    """``SCContentTypeVersion`` as a dict (it is embedded in several answers)."""
    return {**_version_dict(t, v, links), "field_definitions": list(v.field_definitions)}


def sc_version(t: ContentType, v: ContentTypeVersion, links: Links) -> SCContentTypeVersion:
    """getSCContentTypeVersion."""
    return SCContentTypeVersion.model_validate(sc_version_dict(t, v, links))


def content_type(t: ContentType, latest: ContentTypeVersion, links: Links) -> SCContentType:
    """getSCContentType: the type with its latest version."""
    return SCContentType.model_validate(
        {**_type_dict(t, links), "latest_version": sc_version_dict(t, latest, links)}
    )


def created(flag: bool, t: ContentType, v: ContentTypeVersion) -> SCContentTypeCreateResponse:
    """createSCContentType / createSCContentTypeVersion."""
    return SCContentTypeCreateResponse(
        created=flag, content_type_guid=t.id, content_type_version_guid=v.id
    )


def versioned_content_type(
    t: ContentType, v: ContentTypeVersion, links: Links
) -> VersionedContentTypeModel:
    """A content's type at the version the content is written against."""
    return VersionedContentTypeModel.model_validate(
        {**_type_dict(t, links), "version": sc_version_dict(t, v, links)}
    )


def fields_version_dict(fv: ContentFieldsVersion) -> dict[str, Any]:
    """``ContentFieldsVersionDetails`` as a dict."""
    out: dict[str, Any] = {
        "version_guid": fv.id,
        "fields": fv.fields,
        "content_hash": fv.content_hash,
        "created_by": fv.created_by,
        "created_at": timestamp(fv.created_at),
        "validation": {"fields": fv.validation},
    }
    if fv.source_id is not None:
        out["source_id"] = fv.source_id
    if fv.source_metadata is not None:
        out["source_metadata"] = fv.source_metadata
    return out


def content_details_dict(
    c: Content,
    t: ContentType,
    v: ContentTypeVersion,
    fv: ContentFieldsVersion,
    links: Links,
    self_link: str | None = None,
) -> dict[str, Any]:
    """``ContentDetailsModel`` as a dict; ``self_link`` is where the content is served
    (``getStructuredContent`` for a library content; a task's route for a task's)."""
    out: dict[str, Any] = {
        "content_guid": c.id,
        "title": c.title,
        "root_content": c.root_content,
        "expired": c.expired,
        "content_type_guid": t.id,
        "content_type_name": t.name,
        "content_type": versioned_content_type(t, v, links).model_dump(mode="json", by_alias=True),
        "latest_fields_version": fields_version_dict(fv),
        "created_by": c.created_by,
        "updated_by": c.updated_by,
        "created_at": timestamp(c.created_at),
        "updated_at": timestamp(c.updated_at),
        "links": {
            "definition": links.to("getSCContentTypeVersion", content_type_id=t.id, version_id=v.id)
        },
    }
    if self_link is not None:
        out["links"]["self"] = self_link
    if c.expiry_datetime is not None:
        out["expiry_datetime"] = timestamp(c.expiry_datetime)
    for key in ("primary_locale", "source", "source_id", "source_metadata", "template_guid"):
        value = getattr(c, key)
        if value is not None:
            out[key] = value
    return out


def content_details(
    c: Content,
    t: ContentType,
    v: ContentTypeVersion,
    fv: ContentFieldsVersion,
    links: Links,
    self_link: str | None = None,
) -> ContentDetailsModel:
    """A content's ``ContentDetailsModel``."""
    return ContentDetailsModel.model_validate(content_details_dict(c, t, v, fv, links, self_link))


def library_structured_content(
    asset: AssetView, view: ContentView, links: Links
) -> LibraryStructuredContent:
    """createStructuredContent, getStructuredContent, updateStructuredContent."""
    row = asset.row
    self_link = links.to("getStructuredContent", id=row.id)
    c = view.content
    return LibraryStructuredContent.model_validate(
        {
            "id": row.id,
            "title": row.title,
            "created_at": timestamp(row.created_at),
            "modified_at": timestamp(row.modified_at),
            "folder_id": row.folder_id,
            "file_location": asset.file_location,
            "is_archived": row.is_archived,
            "labels": asset.labels,
            "owner_organization_id": row.org_id,
            "links": {"self": self_link},
            "content_body": content_details_dict(
                c, view.content_type, view.version, view.fields_version, links, self_link
            ),
        }
    )
