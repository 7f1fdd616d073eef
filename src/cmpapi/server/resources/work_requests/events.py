"""Webhook payloads of work request events (shared/reference/cmp-webhooks.md §2.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.work_requests.tables import WorkRequest

# links.<name> -> the operation on the work request it points at (some paths are only
# served for POST: the link names the collection all the same). Answers show them all;
# event payloads the EVENT_LINKS.
SUB_LINKS = {
    "comments": "listWorkRequestComments",
    "attachments": "addAttachmentToWorkRequest",
    "campaigns": "createCampaignFromWorkRequest",
    "tasks": "createTaskFromWorkRequest",
    "creative_assets": "createWorkRequestCreativeAsset",
    "related_resources": "listWorkRequestRelatedResources",
}
EVENT_LINKS = ("comments", "campaigns", "attachments", "creative_assets")


def links_of(links: Links, wr_id: str, names: Sequence[str]) -> dict[str, str]:
    """``{"self", <name>...}``: the work request's own URL and the named sub-resources'."""
    refs = {"self": links.to("getWorkRequest", id=wr_id)}
    for name in names:
        refs[name] = links.to(SUB_LINKS[name], id=wr_id)
    return refs


def work_request_ref(links: Links, wr: WorkRequest) -> dict[str, Any]:
    """``{"id", "template": {"id", "links": {"self"}}, "links": {"self", "comments",
    "campaigns", "attachments", "creative_assets"}}`` (work_request_added)."""
    refs = links_of(links, wr.id, EVENT_LINKS)
    template = {
        "id": wr.template_id,
        "links": {"self": links.to("getTemplate", template_id=wr.template_id)},
    }
    return {"id": wr.id, "template": template, "links": refs}


def record_added(session: Session, links: Links, wr: WorkRequest) -> None:
    """work_request_added."""
    record_event(
        session,
        "work_request_added",
        {"work_request": work_request_ref(links, wr)},
        org_id=wr.org_id,
    )


def record_modified(
    session: Session, links: Links, wr: WorkRequest, modified_fields: Sequence[str]
) -> None:
    """work_request_modified: the work request as in work_request_added, plus the names
    of what changed (``status``, ``priority``, ``assignees``, ``form_fields``)."""
    data = {"work_request": work_request_ref(links, wr), "modified_fields": list(modified_fields)}
    record_event(session, "work_request_modified", data, org_id=wr.org_id)
