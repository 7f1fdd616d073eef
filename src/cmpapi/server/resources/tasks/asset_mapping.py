"""Task asset rows -> wire models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.tasks.asset_brand_compliance import Category, ReviewView
from cmpapi.server.resources.tasks.asset_comments import CommentView
from cmpapi.server.resources.tasks.asset_events import asset_self
from cmpapi.server.resources.tasks.asset_service import TaskAssetView
from cmpapi.server.resources.tasks.asset_tables import (
    ARTICLE,
    STRUCTURED_CONTENT,
    TaskAsset,
    TaskAssetDraft,
)
from cmpapi.server.resources.tasks.mapping import web_url
from cmpapi.wire import (
    BrandComplianceCategoriesResponse,
    TaskArticle,
    TaskAssetCommentResponse,
    TaskAssetDraftBrandComplianceResponse,
    TaskAssetDraftResponse,
    TaskAssetResponse,
    TaskImage,
    TaskRawFile,
    TaskVideo,
)

Signer = Callable[[str, str, str], str]
"""``sign(key, filename, content_type)``: a signed download URL (``library.files``)."""


def download_url(sign: Signer, key: str, title: str, extension: str | None, mime: str) -> str:
    """A signed URL for a stored file, named after ``title`` (plus its extension)."""
    suffix = f".{extension}" if extension else ""
    name = title if title.endswith(suffix) else title + suffix
    return sign(key, name, mime)


def _file_url(asset: Any, sign: Signer) -> str:
    if not asset.storage_key:
        return ""
    return download_url(sign, asset.storage_key, asset.title, asset.file_extension, asset.mime_type)


def _drafts(asset: Any, links: Links) -> str | None:
    """Where drafts of the asset are posted: none for articles; a structured content's
    drafts are new fields versions (createTaskStructuredContentDraft)."""
    task, aid = asset.task_id, asset.id
    if asset.type == ARTICLE:
        return None
    if asset.type == STRUCTURED_CONTENT:
        return links.to("createTaskStructuredContentDraft", task_id=task, content_id=aid)
    return links.to("listTaskAssetDrafts", task_id=task, asset_id=aid)


def _links(asset: Any, links: Links) -> dict[str, Any]:
    task, aid = asset.task_id, asset.id
    has_drafts = asset.type != ARTICLE
    return {
        "self": asset_self(links, task, aid, asset.type),
        "task": links.to("getTask", id=task),
        "drafts": _drafts(asset, links),
        "web_urls": {
            "self": web_url(links, "tasks", task, "assets", aid),
            "task": web_url(links, "tasks", task),
            "drafts": web_url(links, "tasks", task, "assets", aid, "drafts")
            if has_drafts
            else None,
        },
    }


def _generic(view: TaskAssetView, links: Links, sign: Signer) -> dict[str, Any]:
    row = view.row
    if row.type == ARTICLE:
        content = {"type": "html_body", "value": row.html_body or ""}
    elif row.type == STRUCTURED_CONTENT:  # the spec: "structured_content: api_url"
        content = {"type": "api_url", "value": asset_self(links, row.task_id, row.id, row.type)}
    else:
        content = {"type": "url", "value": _file_url(row, sign)}
    return {
        "id": row.id,
        "title": row.title,
        "type": row.type,
        "mime_type": row.mime_type,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "content": content,
        "labels": view.labels,
        "links": _links(row, links),
    }


def task_asset_response(view: TaskAssetView, links: Links, sign: Signer) -> TaskAssetResponse:
    """addAssetToTask's answer."""
    return TaskAssetResponse.model_validate(_generic(view, links, sign))


def task_asset_item(view: TaskAssetView, links: Links, sign: Signer) -> dict[str, Any]:
    """One item of listTaskAssets (with ``library_asset_id``) as plain data
    (``page_response`` checks it), from a ``service.LIST_COLUMNS`` row's view."""
    return _generic(view, links, sign) | {"library_asset_id": view.row.library_asset_id}


def _typed(view: TaskAssetView, links: Links) -> dict[str, Any]:
    row = view.row
    return {
        "id": row.id,
        "title": row.title,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "labels": view.labels,
        "library_asset_id": row.library_asset_id,
        "links": _links(row, links),
    }


def _file(view: TaskAssetView, links: Links, sign: Signer) -> dict[str, Any]:
    row = view.row
    return _typed(view, links) | {
        "mime_type": row.mime_type,
        "file_size": row.file_size,
        "url": _file_url(row, sign),
    }


def task_image(view: TaskAssetView, links: Links, sign: Signer) -> TaskImage:
    """getTaskImage."""
    size = {"width": view.row.width or 0, "height": view.row.height or 0}
    return TaskImage.model_validate(_file(view, links, sign) | {"image_resolution": size})


def task_video(view: TaskAssetView, links: Links, sign: Signer) -> TaskVideo:
    """getTaskVideo."""
    return TaskVideo.model_validate(_file(view, links, sign))


def task_raw_file(view: TaskAssetView, links: Links, sign: Signer) -> TaskRawFile:
    """getTaskRawFile."""
    return TaskRawFile.model_validate(_file(view, links, sign))


def task_article(
    view: TaskAssetView, links: Links, sign: Signer, url: str | None = None
) -> TaskArticle:
    """getTaskArticle; ``url``: its public URL (from publishing metadata), if any."""
    return TaskArticle.model_validate(
        _typed(view, links) | {"html_body": view.row.html_body or "", "url": url}
    )


BY_TYPE: dict[str, Callable[[TaskAssetView, Links, Signer], BaseModel]] = {
    "image": task_image,
    "video": task_video,
    "raw_file": task_raw_file,
    "article": task_article,
}


def _draft(asset: TaskAsset, draft: Any, links: Links, sign: Signer) -> dict[str, Any]:
    url = download_url(sign, draft.storage_key, draft.title, draft.file_extension, draft.mime_type)
    return {
        "draft_number": draft.draft_number,
        "title": draft.title,
        "type": draft.type,
        "mime_type": draft.mime_type,
        "created_at": timestamp(draft.created_at),
        "content": {"type": "url", "value": url},
        "links": {
            "asset": asset_self(links, asset.task_id, asset.id, asset.type),
            "task": links.to("getTask", id=asset.task_id),
        },
    }


def draft_item(asset: TaskAsset, draft: Any, links: Links, sign: Signer) -> dict[str, Any]:
    """One item of listTaskAssetDrafts as plain data (``page_response`` checks it), from a
    ``service.DRAFT_COLUMNS`` row."""
    return _draft(asset, draft, links, sign) | {"id": draft.id}


def draft_response(
    asset: TaskAsset, draft: TaskAssetDraft, links: Links, sign: Signer
) -> TaskAssetDraftResponse:
    """addDraftToTaskAsset's answer."""
    body = _draft(asset, draft, links, sign) | {"asset_id": asset.id}
    return TaskAssetDraftResponse.model_validate(body)


def comment_item(view: CommentView, asset_url: str, links: Links, sign: Signer) -> dict[str, Any]:
    """A task asset comment as plain data (listTaskAssetComments' item: ``page_response``
    checks it); ``asset_url`` is the asset's typed URL."""
    row = view.row
    attachments = [
        {"id": a.id, "name": a.name, "url": sign(a.storage_key, a.name, a.mime_type)}
        for a in view.attachments
    ]
    return {
        "id": row.id,
        "value": row.value,
        "is_resolved": row.is_resolved,
        "created_at": timestamp(row.created_at),
        "modified_at": timestamp(row.modified_at),
        "attachments": attachments,
        "links": {"task": links.to("getTask", id=row.task_id), "asset": asset_url},
    }


def comment_response(
    view: CommentView, asset_url: str, links: Links, sign: Signer
) -> TaskAssetCommentResponse:
    """addCommentToTaskAsset's answer: ``comment_item`` validated."""
    return TaskAssetCommentResponse.model_validate(comment_item(view, asset_url, links, sign))


def category_response(category: Category) -> BrandComplianceCategoriesResponse:
    """One item of listBrandComplianceCategories."""
    return BrandComplianceCategoriesResponse.model_validate(
        {
            "id": category.id,
            "name": category.name,
            "criteria": [
                {"id": c.id, "name": c.name, "description": c.description}
                for c in category.criteria
            ],
        }
    )


def review_response(
    view: ReviewView, catalogue: tuple[Category, ...]
) -> TaskAssetDraftBrandComplianceResponse:
    """A draft's brand compliance: every category of the catalogue, with what the
    reviewer set (a criterion's description: the reviewer's, else the catalogue's)."""
    categories = []
    for category in catalogue:
        stored = view.category(category.id)
        criteria = stored.get("criteria") or {}
        categories.append(
            {
                "id": category.id,
                "name": category.name,
                "status": stored.get("status"),
                "notes": stored.get("notes"),
                "criteria": [
                    {
                        "id": c.id,
                        "name": c.name,
                        "description": (criteria.get(c.id) or {}).get("description")
                        or c.description,
                        "selected": (criteria.get(c.id) or {}).get("selected"),
                    }
                    for c in category.criteria
                ],
            }
        )
    return TaskAssetDraftBrandComplianceResponse.model_validate(
        {
            "status": view.status,
            "reviewed_at": timestamp(view.reviewed_at) if view.reviewed_at else None,
            "reviewed_by": view.reviewed_by,
            "categories": categories,
        }
    )
