"""Sample ``data`` of each of the 43 CMP webhook events, for ``POST /ext/v1/events/trigger``
(``cmpapi trigger``): shaped like the events the services record (their payload helpers
are reused where they exist; tests/webhooks/test_event_stream.py compares every sample
with a real event of the same name), about the objects ``event_subjects`` finds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.ext.event_subjects import SAMPLE_IDS, Subjects
from cmpapi.server.ext.preview_sample import preview_sample
from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.events import TYPE_OPERATIONS
from cmpapi.server.resources.publishing import payloads as publishing
from cmpapi.server.resources.publishing.tables import PublishingEvent
from cmpapi.server.resources.tasks import asset_events
from cmpapi.server.resources.tasks.events import external_payload, sub_step_url, task_ref
from cmpapi.server.resources.work_requests.events import links_of, work_request_ref

Builder = Callable[[Session, Links, Subjects], dict[str, Any]]
COMMENT = SAMPLE_IDS["comment"]


def _asset(name: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        asset_id, type_ = s.asset
        data: dict[str, Any] = {"id": asset_id, "owner_organization_id": s.org_id, "type": type_}
        if name != "asset_removed":
            data["links"] = {"self": links.to(TYPE_OPERATIONS[type_], id=asset_id)}
        if name == "asset_added":
            data["source"] = {"id": None, "type": None, "links": {"self": None}}
        if name == "asset_renditions_created":
            data["links"]["renditions"] = links.to("listAssetRenditions", asset_id=asset_id)
        return {"asset": data}

    return build


def _task(*extra: str, removed: bool = False) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        return {"task": {"id": s.task_id} if removed else task_ref(links, s.task_id, *extra)}

    return build


def _task_fields(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    task_id, field_id = s.custom_field
    url = links.to("getTaskCustomField", task_id=task_id, custom_field_id=field_id)
    return {
        "modified_custom_fields": [{"id": field_id, "links": {"self": url}}],
        "task": task_ref(links, task_id, "assets", "custom_fields"),
    }


def _task_asset(name: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        if name == "task_asset_removed":
            return asset_events.removed_payload(links, s.task_asset)
        data = asset_events.payload(links, s.task_asset)
        if name == "task_asset_modified":
            data["attributes_changed"] = ["title"]
        return data

    return build


def _sub_step_updated(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    ss = s.sub_step
    return {
        "status": "completed",
        "task": task_ref(links, ss.task_id),
        "step": {"id": ss.step_id},
        "sub_step": {"id": ss.id, "links": {"self": sub_step_url(links, ss)}},
    }


def _sub_step_comment(action: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        ss = s.sub_step
        comments = sub_step_url(links, ss, "listTaskSubStepComments")
        comment: dict[str, Any] = {"id": COMMENT}
        if action != "removed":
            comment["links"] = {"self": _comment_url(links, s, external=False)}
        return {
            "task": task_ref(links, ss.task_id),
            "step": {"id": ss.step_id},
            "sub_step": {
                "id": ss.id,
                "links": {"self": sub_step_url(links, ss), "comments": comments},
            },
            "comment": comment,
        }

    return build


def _comment_url(links: Links, s: Subjects, *, external: bool) -> str:
    ss = s.external if external else s.sub_step
    return links.to(
        "getTaskSubStepComment",
        task_id=ss.task_id,
        step_id=ss.step_id,
        sub_step_id=ss.id,
        comment_id=COMMENT,
    )


def _external(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    return external_payload(links, s.external, s.external.external_system or "Jira")


def _external_comment(action: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        ss = s.external
        task_url = links.to("getTask", id=ss.task_id)
        comment_links = {"task": task_url, "sub_step": sub_step_url(links, ss)}
        if action != "removed":
            comment_links = {"self": _comment_url(links, s, external=True), **comment_links}
        sub_links = {
            "self": sub_step_url(links, ss),
            "task": task_url,
            "comments": sub_step_url(links, ss, "listTaskSubStepComments"),
        }
        return {
            "task": task_ref(links, ss.task_id, "assets"),
            "step": {"id": ss.step_id, "links": {"task": task_url}},
            "sub_step": {"id": ss.id, "links": sub_links},
            "comment": {"id": COMMENT, "links": comment_links},
        }

    return build


def _campaign(name: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        refs: dict[str, Any] = {"self": links.to("getCampaign", id=s.campaign_id)}
        if name == "campaign_added":
            refs["work_request"] = None
        if name in ("campaign_brief_added", "campaign_brief_modified"):
            refs["brief"] = links.to("getCampaignBrief", id=s.campaign_id)
        return {"campaign": {"id": s.campaign_id, "links": refs}}

    return build


def _publish(session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    event = PublishingEvent(id=SAMPLE_IDS["publishing_event"], org_id=s.org_id)
    return publishing.payload(session, links, s.channel, event, [s.task_asset])


def _work_request(name: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        wr = s.work_request
        if name == "work_request_removed":
            return {"work_request": {"id": wr.id}}
        data: dict[str, Any] = {"work_request": work_request_ref(links, wr)}
        if name == "work_request_modified":
            data["modified_fields"] = ["status"]
        return data

    return build


def _work_request_comment(action: str) -> Builder:
    def build(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
        wr_id = s.work_request.id
        comment: dict[str, Any] = {"id": COMMENT}
        if action != "removed":
            url = links.to("getWorkRequestComment", work_request_id=wr_id, comment_id=COMMENT)
            comment["links"] = {"self": url}
        return {
            "work_request": {"id": wr_id, "links": links_of(links, wr_id, ("comments",))},
            "comment": comment,
        }

    return build


def _calendar_event(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    return {"event": {"id": s.event_id, "links": {"self": links.to("getEvent", id=s.event_id)}}}


def _preview(_session: Session, links: Links, s: Subjects) -> dict[str, Any]:
    return preview_sample(links, s.org_id)


BUILDERS: dict[str, Builder] = {
    **{
        name: _asset(name)
        for name in ("asset_added", "asset_modified", "asset_removed", "asset_renditions_created")
    },
    "task_added": _task(),
    "task_removed": _task(removed=True),
    "task_metadata_modified": _task(),
    "task_brief_added": _task("brief"),
    "task_brief_modified": _task("brief"),
    "task_brief_removed": _task(),
    "task_custom_field_modified": _task_fields,
    **{
        name: _task_asset(name)
        for name in (
            "task_asset_added",
            "task_asset_removed",
            "task_asset_modified",
            "task_asset_draft_added",
            "task_asset_draft_removed",
        )
    },
    "content_preview_requested": _preview,
    "workflow_sub_step_updated": _sub_step_updated,
    **{
        f"workflow_sub_step_comment_{a}": _sub_step_comment(a)
        for a in ("added", "modified", "removed")
    },
    **{f"external_sub_step_{a}": _external for a in ("started", "completed", "modified")},
    **{
        f"external_sub_step_comment_{a}": _external_comment(a)
        for a in ("added", "modified", "removed")
    },
    **{
        name: _campaign(name)
        for name in (
            "campaign_added",
            "campaign_metadata_modified",
            "campaign_brief_added",
            "campaign_brief_modified",
            "campaign_brief_removed",
        )
    },
    **{f"asset_{a}": _publish for a in ("published", "unpublished", "synced")},
    **{
        name: _work_request(name)
        for name in ("work_request_added", "work_request_modified", "work_request_removed")
    },
    **{
        f"work_request_comment_{a}": _work_request_comment(a)
        for a in ("added", "modified", "removed")
    },
    "event_added": _calendar_event,
    "event_modified": _calendar_event,
}


def sample_data(session: Session, links: Links, name: str, subjects: Subjects) -> dict[str, Any]:
    """The ``data`` of a sample ``name`` event (a name of the catalogue)."""
    return BUILDERS[name](session, links, subjects)
