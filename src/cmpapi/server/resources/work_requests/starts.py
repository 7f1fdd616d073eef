"""Starting work from a request: createTaskFromWorkRequest and
createCampaignFromWorkRequest.

The new task or campaign is made by its own service (same rules, same events:
task_added, campaign_added naming the request), carries the request's brief (its
template and form values, ``subresources.briefs``) and becomes one of the request's
related resources (``started``), all in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.session import one_unit
from cmpapi.server.http.links import Links
from cmpapi.server.resources.campaigns import service as campaigns
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.campaigns.service import CampaignView
from cmpapi.server.resources.subresources import briefs
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.tasks import service as tasks
from cmpapi.server.resources.tasks.parent import TASK
from cmpapi.server.resources.tasks.views import TaskView
from cmpapi.server.resources.templates.service import value_fields
from cmpapi.server.resources.work_requests import values
from cmpapi.server.resources.work_requests.service import (
    WorkRequestView,
    add_related_resource,
    get_work_request,
    load_work_request,
)
from cmpapi.wire import (
    CampaignCreateRequest,
    TaskCreateRequest,
    WorkRequestCampaignRequest,
    WorkRequestTaskRequest,
)

TITLE = "title"  # the form field whose value names the request


def _strings(view: WorkRequestView, spec: dict[str, Any]) -> list[str]:
    """A form field's values as the brief shows them: texts, choice names, file names."""

    def file(file_id: str) -> dict[str, str] | None:
        row = view.files.get(file_id)
        return {"id": file_id, "name": row.name} if row is not None else None

    out = []
    for v in values.answered(spec, view.row.form_values.get(spec["identifier"], []), file):
        if isinstance(v, dict):  # a choice or file {id, name}, or a brief {type, value}
            inner = v.get("value", v)
            out.append(str(inner.get("name", "")) if isinstance(inner, dict) else str(inner))
        else:
            out.append(str(v))
    return out


def request_title(view: WorkRequestView) -> str:
    """The request's title: its ``title`` form field, else its template's title."""
    given = view.row.form_values.get(TITLE) or []
    return str(given[0]) if given and str(given[0]).strip() else view.template.title


def _give_brief(
    session: Session, links: Links, parent: Parent, owner: Owner, view: WorkRequestView
) -> None:
    """The request's form, as a template brief of the new task or campaign."""
    fields = [
        {
            "name": spec.get("label") or spec["identifier"],
            "settings_field_id": None,
            "value": _strings(view, spec),
        }
        for spec in value_fields(view.template)
        if view.row.form_values.get(spec["identifier"])
    ]
    briefs.put(
        session,
        links,
        parent,
        owner,
        type="template",
        title=request_title(view),
        fields=fields,
        template=(view.template.id, view.template.title),
    )


def _given(body: Any, *names: str) -> dict[str, Any]:
    """The keys of ``body`` the caller set (null included), by name."""
    dumped = body.model_dump(exclude_unset=True)
    return {n: dumped[n] for n in names if n in dumped}


def create_task_from_work_request(
    session: Session,
    principal: Principal,
    links: Links,
    work_request_id: str,
    body: WorkRequestTaskRequest,
) -> TaskView:
    """A task made from the request: titled after it unless ``title`` is given, with its
    brief, listed among its related resources."""
    load_work_request(session, principal, work_request_id, "write")
    view = get_work_request(session, principal, work_request_id)
    given = _given(body, "title", "campaign_id", "due_at", "start_at", "owner_id", "workflow_id")
    given.setdefault("title", request_title(view))
    with one_unit(session):
        made = tasks.create_task(session, principal, links, TaskCreateRequest.model_validate(given))
        _give_brief(session, links, TASK, made.task, view)
        add_related_resource(session, view.row, "task", made.task.id)
        session.commit()
    return replace(made, has_brief=True)


def create_campaign_from_work_request(
    session: Session,
    principal: Principal,
    links: Links,
    work_request_id: str,
    body: WorkRequestCampaignRequest,
) -> CampaignView:
    """A campaign made from the request (campaign_added names it), with its brief, listed
    among its related resources."""
    load_work_request(session, principal, work_request_id, "write")
    view = get_work_request(session, principal, work_request_id)
    given = _given(body, "title", "description", "start_date", "end_date", "owner_id")
    for key in ("start_date", "end_date"):  # date-times here, dates on campaigns (UTC day)
        if given.get(key) is not None:
            given[key] = given[key].astimezone(UTC).date().isoformat()
    if "parent_campaign_id" in body.model_fields_set:
        given["parent_campaign"] = body.parent_campaign_id
    request = CampaignCreateRequest.model_validate(given)
    with one_unit(session):
        made = campaigns.create_campaign(session, principal, links, request, work_request_id)
        _give_brief(session, links, CAMPAIGN, made.campaign, view)
        add_related_resource(session, view.row, "campaign", made.campaign.id)
        session.commit()
    return replace(made, has_brief=True)
