"""One payload per CMP webhook event, shaped as shared/reference/cmp-webhooks.md §2 gives
it (the CMP's documented examples and field tables; by analogy where it says so), on the
CMP's own host: not what cmpapi sends, what the CMP does. And deliveries signed by the
``standardwebhooks`` reference library."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook as Reference

API = "https://api.cmp.optimizely.com/v3"
ORG = "5d7f910551bw0a722e0418830c"
T, A, S, SS, C = "65a1f0c2e4b0a1b2c3d4e5f6", "65a1f0c2e4b0a1b2c3d4e5f7", "st1", "sst1", "cm1"
TASK = f"{API}/tasks/{T}"
SUB_STEP = f"{TASK}/steps/{S}/sub-steps/{SS}"


def task(*extra: str) -> dict[str, Any]:
    """``{"id", "links": {"self", <extra>...}}`` (TASK_S, TASK_SA...)."""
    paths = {"assets": "assets", "brief": "brief", "custom_fields": "custom-fields"}
    return {"id": T, "links": {"self": TASK, **{e: f"{TASK}/{paths[e]}" for e in extra}}}


def library_asset(*, links: bool = True) -> dict[str, Any]:
    asset: dict[str, Any] = {"id": A, "owner_organization_id": ORG, "type": "image"}
    return asset | ({"links": {"self": f"{API}/images/{A}"}} if links else {})


def task_asset(*, links: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"task": task("assets"), "asset": {"id": A, "type": "image"}}
    if links:
        data["asset"]["links"] = {"self": f"{TASK}/images/{A}", "task": TASK}
    return data


def sub_step_comment(*, removed: bool = False) -> dict[str, Any]:
    return {
        "task": task(),
        "step": {"id": S},
        "sub_step": {"id": SS, "links": {"self": SUB_STEP, "comments": f"{SUB_STEP}/comments"}},
        "comment": {"id": C}
        if removed
        else {"id": C, "links": {"self": f"{SUB_STEP}/comments/{C}"}},
    }


def external(*, comment: str | None = None) -> dict[str, Any]:
    """external_sub_step_* data; ``comment``: None (the sub-step events), "kept", "removed"."""
    step = {"id": S, "links": {"task": TASK}}
    if comment is None:
        work = f"{SUB_STEP}/external-work"
        return {
            "task": task("assets"),
            "step": step,
            "sub_step": {
                "id": SS,
                "links": {"self": SUB_STEP, "task": TASK, "external_work": work},
            },
            "external_work": {
                "external_system": "Jira",
                "links": {"self": work, "task": TASK, "sub_step": SUB_STEP},
            },
        }
    links = {"task": TASK, "sub_step": SUB_STEP}
    if comment == "kept":
        links = {"self": f"{SUB_STEP}/comments/{C}", **links}
    sub_links = {"self": SUB_STEP, "task": TASK, "comments": f"{SUB_STEP}/comments"}
    return {
        "task": task("assets"),
        "step": step,
        "sub_step": {"id": SS, "links": sub_links},
        "comment": {"id": C, "links": links},
    }


def campaign(*extra: str) -> dict[str, Any]:
    url = f"{API}/campaigns/cp1"
    links: dict[str, Any] = {"self": url}
    if "brief" in extra:
        links["brief"] = f"{url}/brief"
    if "work_request" in extra:
        links["work_request"] = None
    return {"campaign": {"id": "cp1", "links": links}}


WR = f"{API}/work-requests/wr1"


def work_request() -> dict[str, Any]:
    subs = ("comments", "campaigns", "attachments", "creative_assets")
    return {
        "id": "wr1",
        "template": {"id": "tp1", "links": {"self": f"{API}/templates/tp1"}},
        "links": {"self": WR, **{s: f"{WR}/{s.replace('_', '-')}" for s in subs}},
    }


def wr_comment(*, removed: bool = False) -> dict[str, Any]:
    return {
        "work_request": {"id": "wr1", "links": {"self": WR, "comments": f"{WR}/comments"}},
        "comment": {"id": C} if removed else {"id": C, "links": {"self": f"{WR}/comments/{C}"}},
    }


def publish() -> dict[str, Any]:
    """asset_published as the docs table and marketo-middleware read it."""
    article = {
        "id": "ar1",
        "title": "Spring",
        "created_at": "2026-03-01T09:30:00Z",
        "modified_at": "2026-03-02T10:00:00Z",
        "html_body": "<p>Spring</p>",
        "images": [],
        "labels": [],
    }
    content = {"id": "sc1", "title": "Page", "content_body": {"content_type": {"name": "Page"}}}
    return {
        "assets": {"articles": [article], "structured_contents": [content]},
        "organization": {"id": ORG},
        "publishing_event": {
            "id": "pe1",
            "links": {
                "self": f"{API}/publishing-events/pe1",
                "publishing_metadata": f"{API}/publishing-events/pe1/publishing-metadata",
            },
        },
    }


def preview() -> dict[str, Any]:
    base = f"{API}/structured-content/contents/sc1/versions/v1/previews/pv1"
    content = {
        "id": "sc1",
        "version_id": "v1",
        "title": "Spring page",
        "created_at": "2026-03-01T09:30:00Z",
        "modified_at": "2026-03-01T09:30:00Z",
        "content_body": {
            "content_type_name": "Landing page",
            "fields_version": {"content_hash": "a1b2", "version_guid": "v1", "fields": {}},
        },
    }
    return {
        "assets": {"structured_contents": [content], "articles": [], "images": []},
        "organization": {"id": ORG},
        "task": task(),
        "links": {"acknowledge": f"{base}/acknowledge", "complete": f"{base}/complete"},
        "preview_id": "pv1",
    }


_DATA: dict[str, dict[str, Any]] = {
    "asset_added": {
        "asset": library_asset() | {"source": {"id": T, "type": "task", "links": {"self": TASK}}}
    },
    "asset_modified": {"asset": library_asset()},
    "asset_removed": {"asset": library_asset(links=False)},
    "asset_renditions_created": {
        "asset": library_asset()
        | {"links": {"self": f"{API}/images/{A}", "renditions": f"{API}/assets/{A}/renditions"}}
    },
    "task_added": {"task": task()},
    "task_removed": {"task": {"id": T}},
    "task_metadata_modified": {"task": task()},
    "task_brief_added": {"task": task("brief")},
    "task_brief_removed": {"task": task()},
    "task_brief_modified": {"task": task("brief")},
    "task_asset_added": task_asset(),
    "task_asset_removed": task_asset(links=False),
    "task_asset_modified": task_asset() | {"attributes_changed": ["title", "expires_at"]},
    "task_asset_draft_added": task_asset(),
    "task_asset_draft_removed": task_asset(),
    "task_custom_field_modified": {
        "modified_custom_fields": [{"id": "cf1", "links": {"self": f"{TASK}/custom-fields/cf1"}}],
        "task": task("assets", "custom_fields"),
    },
    "content_preview_requested": preview(),
    "workflow_sub_step_updated": {
        "status": "started",
        "task": task(),
        "step": {"id": S},
        "sub_step": {"id": SS, "links": {"self": SUB_STEP}},
    },
    "workflow_sub_step_comment_added": sub_step_comment(),
    "workflow_sub_step_comment_modified": sub_step_comment(),
    "workflow_sub_step_comment_removed": sub_step_comment(removed=True),
    "campaign_added": campaign("work_request"),
    "campaign_metadata_modified": campaign(),
    "campaign_brief_added": campaign("brief"),
    "campaign_brief_modified": campaign("brief"),
    "campaign_brief_removed": campaign(),
    "asset_published": publish(),
    "asset_unpublished": publish(),
    "asset_synced": publish(),
    "work_request_added": {"work_request": work_request()},
    "work_request_modified": {"work_request": work_request(), "modified_fields": ["status"]},
    "work_request_removed": {"work_request": {"id": "wr1"}},
    "work_request_comment_added": wr_comment(),
    "work_request_comment_modified": wr_comment(),
    "work_request_comment_removed": wr_comment(removed=True),
    "external_sub_step_started": external(),
    "external_sub_step_completed": external(),
    "external_sub_step_modified": external(),
    "external_sub_step_comment_added": external(comment="kept"),
    "external_sub_step_comment_modified": external(comment="kept"),
    "external_sub_step_comment_removed": external(comment="removed"),
    "event_added": {"event": {"id": "ev1", "links": {"self": f"{API}/events/ev1"}}},
    "event_modified": {"event": {"id": "ev1", "links": {"self": f"{API}/events/ev1"}}},
}
SAMPLES: dict[str, dict[str, Any]] = {
    name: {"event_name": name, "data": data} for name, data in _DATA.items()
}

# Keys (list items as 0) a sample may lose and still parse: what older CMP versions lack,
# what cmpapi adds, what the reference only infers.
OPTIONAL: set[tuple[Any, ...]] = {
    ("asset", "source"),
    ("asset", "links", "renditions"),
    ("campaign", "links", "work_request"),
    ("campaign", "links", "brief"),
    ("work_request", "template"),
    ("modified_fields",),
    ("preview_id",),
    ("publishing_event", "id"),
    ("publishing_event", "links", "self"),
}
CONTENT = ("assets", "structured_contents", 0)
PUBLISH_OPTIONAL = {
    ("assets", "articles"),
    ("assets", "structured_contents"),
    ("assets", "articles", 0, "images"),
    ("assets", "articles", 0, "labels"),
    (*CONTENT, "title"),
    (*CONTENT, "content_body"),
}
PREVIEW_OPTIONAL = {
    ("assets", "articles"),
    ("assets", "images"),
    (*CONTENT, "content_body", "content_type_name"),
    (*CONTENT, "content_body", "fields_version", "version_guid"),
    (*CONTENT, "content_body", "fields_version", "fields"),
}


def optional(name: str, path: tuple[Any, ...]) -> bool:
    """Whether the sample of ``name`` may lose the key at ``path`` and still parse."""
    if path in OPTIONAL:
        return True
    if name in ("asset_published", "asset_synced", "asset_unpublished"):
        # A published content's body is kept as it comes (its shape is not documented).
        return path in PUBLISH_OPTIONAL or path[:4] == (*CONTENT, "content_body")
    return name == "content_preview_requested" and path in PREVIEW_OPTIONAL


def key_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every key in ``data`` (list items by index)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key)
            yield from key_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from key_paths(value, (*path, index))


def without(data: Any, path: tuple[Any, ...]) -> Any:
    """A copy of ``data`` without the key at ``path``."""
    copy = json.loads(json.dumps(data))
    node = copy
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copy


# -- signed deliveries -------------------------------------------------------------------------

KEY = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = "whsec_" + base64.b64encode(bytes(range(1, 33))).decode()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BODY = json.dumps(SAMPLES["asset_added"]).encode()


def signed(
    body: bytes = BODY, key: str = KEY, at: datetime = NOW, msg_id: str = "msg_1"
) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, made by the reference library."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Reference(key).sign(msg_id, at, body),
    }
