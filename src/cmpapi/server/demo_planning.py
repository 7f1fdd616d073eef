"""Demo planning data (``cmpapi serve --demo``): two campaigns (one with a brief), an
event, a work-request template with several field types and work requests in three
statuses, one already turned into a task. Made through the services, as Mia Marketer
(a member) would through the API, so every rule and event applies; ids are stable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.session import one_unit
from cmpapi.server.http.links import Links
from cmpapi.server.resources.calendar_events import service as calendar
from cmpapi.server.resources.campaigns import service as campaigns
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.subresources import briefs
from cmpapi.server.resources.templates import service as templates
from cmpapi.server.resources.templates.tables import Template
from cmpapi.server.resources.work_requests import service as work_requests
from cmpapi.server.resources.work_requests import starts
from cmpapi.wire import (
    CampaignCreateRequest,
    EventCreateRequest,
    SettingsTemplate,
    WorkRequestCreateRequest,
    WorkRequestTaskRequest,
    WorkRequestUpdateRequest,
)

LINKS = Links("http://localhost:8000")  # events recorded while seeding name the default URL


def _field(ident: str, field_type: str, order: int, **extra: Any) -> dict[str, Any]:
    return {
        "field_type": field_type,
        "identifier": ident,
        "help": "",
        "is_required": False,
        "sort_order": order,
        "custom_field_type": None,
        "logic_rules": [],
        **extra,
    }


TEMPLATE = {
    "name": "Content request",
    "description": "Ask the content team for a piece of work",
    "public_description": "Tell us what you need and by when",
    "types": ["work_request"],
    "form_fields": [
        _field("title", "title", 0, is_required=True),
        _field("brief", "brief", 1),
        _field("Channel", "custom_field", 2, custom_field_type="dropdown"),
        _field("Audience", "custom_field", 3, custom_field_type="checkbox"),
        _field("Budget", "custom_field", 4, custom_field_type="currency"),
        _field("due_date", "due_date", 5),
        _field("creative_assets", "file", 6),
    ],
    "sections": [],
    "instructions": [],
}
REQUESTS = [  # (title, status it ends in, turned into a task)
    ("Spring newsletter", "Submitted", False),
    ("Product launch blog post", "Accepted", True),
    ("Billboard in Times Square", "Declined", False),
]


def seed_planning(session: Session, org_id: str, member_id: str, demo_id: Any) -> None:
    """Seed the planning objects into the demo organization: one transaction with the
    caller's (the services' commits only flush here)."""
    with one_unit(session):
        _seed(session, org_id, member_id, demo_id)


def _seed(session: Session, org_id: str, member_id: str, demo_id: Any) -> None:
    mia = Principal(org_id=org_id, user_id=member_id, role="member", app_id="")
    spring = _campaign(
        session, mia, demo_id("campaign:Spring launch"), "Spring launch", "2031-03-01", "2031-04-30"
    )
    briefs.put(
        session,
        LINKS,
        CAMPAIGN,
        spring,
        type="text",
        title="Why we launch",
        fields=[{"name": "Goal", "settings_field_id": None, "value": ["500 leads"]}],
    )
    _campaign(session, mia, demo_id("campaign:Always on"), "Always on", None, None)
    party = EventCreateRequest.model_validate(
        {
            "title": "Launch party",
            "is_all_day": False,
            "campaign_id": spring.id,
            "start_date": "2031-03-15T18:00:00Z",
            "end_date": "2031-03-15T22:00:00Z",
        }
    )
    calendar.create_event(session, mia, LINKS, party, demo_id("event:Launch party"))
    template = _template(session, org_id, demo_id("template:Content request"))
    for title, status, to_task in REQUESTS:
        _request(session, mia, template, title, status, to_task, demo_id(f"work-request:{title}"))


def _campaign(
    session: Session, mia: Principal, id_: str, title: str, start: str | None, end: str | None
) -> Any:
    body = CampaignCreateRequest.model_validate(
        {"title": title, **({"start_date": start, "end_date": end} if start else {})}
    )
    return campaigns.create_campaign(session, mia, LINKS, body, id_=id_).campaign


def _template(session: Session, org_id: str, id_: str) -> str:
    templates.import_templates(session, org_id, [SettingsTemplate.model_validate(TEMPLATE)], True)
    # Imports make ids of their own; nothing points at the new template yet.
    session.execute(update(Template).where(Template.org_id == org_id).values(id=id_))
    session.flush()
    return id_


def _request(
    session: Session,
    mia: Principal,
    template: str,
    title: str,
    status: str,
    to_task: bool,
    id_: str,
) -> None:
    body = WorkRequestCreateRequest.model_validate(
        {
            "template_id": template,
            "form_fields": [{"identifier": "title", "type": "text", "values": [title]}],
        }
    )
    work_requests.create_work_request(session, mia, LINKS, body, {}, id_)
    if status != "Submitted":
        change = WorkRequestUpdateRequest.model_validate({"status": status})
        work_requests.update_work_request(session, mia, LINKS, id_, change)
    if to_task:
        starts.create_task_from_work_request(session, mia, LINKS, id_, WorkRequestTaskRequest())
