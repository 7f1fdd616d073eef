"""The sample ``content_preview_requested`` (``event_samples.py``): a one-field landing page
awaiting its preview, all of it sample ids but the organization's. Its shape is
``structured_content.previews.preview_payload``'s (the test compares the two)."""

from __future__ import annotations

from typing import Any

from cmpapi.server.ext.event_subjects import SAMPLE_IDS
from cmpapi.server.http.links import Links

TIME = "2026-01-01T00:00:00Z"
HASH = "9f2c1e0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10"


def _content_type(links: Links, user: str) -> dict[str, Any]:
    type_id, version_id = SAMPLE_IDS["content_type"], SAMPLE_IDS["content_type_version"]
    type_url = links.to("getSCContentType", content_type_id=type_id)
    headline = {
        "core": {
            "field_type": "text-field",
            "is_list": False,
            "is_required": True,
            "key": "headline",
            "name": "Headline",
            "need_internationalization": True,
        },
        "max_length": 80,
        "min_length": 0,
        "validation_pattern": "",
    }
    return {
        "component": False,
        "content_type_guid": type_id,
        "created_at": TIME,
        "created_by": user,
        "disabled": False,
        "name": "Landing page",
        "updated_at": TIME,
        "updated_by": user,
        "links": {
            "self": type_url,
            "versions": links.to("listSCContentTypeVersions", content_type_id=type_id),
        },
        "version": {
            "created_at": TIME,
            "created_by": user,
            "expected_locales": ["en_US"],
            "field_definitions": [headline],
            "latest": True,
            "version_guid": version_id,
            "links": {"content_type": type_url, "self": _version_url(links)},
        },
    }


def _version_url(links: Links) -> str:
    return links.to(
        "getSCContentTypeVersion",
        content_type_id=SAMPLE_IDS["content_type"],
        version_id=SAMPLE_IDS["content_type_version"],
    )


def _content_body(links: Links, task_id: str) -> dict[str, Any]:
    user, content_id = SAMPLE_IDS["user"], SAMPLE_IDS["content"]
    fields = {
        "headline": [
            {"locale": "en_US", "field_values": [{"order_index": 0, "text_value": "Spring launch"}]}
        ]
    }
    return {
        "content_guid": content_id,
        "content_type": _content_type(links, user),
        "content_type_guid": SAMPLE_IDS["content_type"],
        "content_type_name": "Landing page",
        "created_at": TIME,
        "created_by": user,
        "expired": False,
        "primary_locale": "en_US",
        "root_content": True,
        "title": "Spring launch page",
        "updated_at": TIME,
        "updated_by": user,
        "fields_version": {
            "content_hash": HASH,
            "content_type_version_guid": SAMPLE_IDS["content_type_version"],
            "created_at": TIME,
            "created_by": user,
            "fields": fields,
            "validation": {"fields": {}},
            "version_guid": SAMPLE_IDS["fields_version"],
        },
        "links": {
            "definition": _version_url(links),
            "self": links.to("getTaskStructuredContent", task_id=task_id, content_id=content_id),
        },
    }


def preview_sample(links: Links, org_id: str) -> dict[str, Any]:
    """The ``data`` of a sample content_preview_requested of organization ``org_id``."""
    task_id, content_id = SAMPLE_IDS["task"], SAMPLE_IDS["content"]
    item = {
        "id": content_id,
        "version_id": SAMPLE_IDS["fields_version"],
        "title": "Spring launch page",
        "created_at": TIME,
        "modified_at": TIME,
        "content_body": _content_body(links, task_id),
    }
    ids: dict[str, Any] = {
        "content_id": content_id,
        "version_id": SAMPLE_IDS["fields_version"],
        "preview_id": SAMPLE_IDS["preview"],
    }
    return {
        "assets": {
            "structured_contents": [item],
            "articles": [],
            "images": [],
            "videos": [],
            "raw_files": [],
        },
        "organization": {"id": org_id},
        "task": {"id": task_id, "links": {"self": links.to("getTask", id=task_id)}},
        "links": {
            "acknowledge": links.to("acknowledgeSCContentPreview", **ids),
            "complete": links.to("completeSCContentPreview", **ids),
        },
        "preview_id": SAMPLE_IDS["preview"],
    }
