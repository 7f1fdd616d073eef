"""Campaigns: listCampaigns, createCampaign, getCampaign, updateCampaign, and what other
resources ask of campaigns (``require_campaign``, ``library_asset_ids``).

Service functions are named after the operations and take ``(session, principal, ...)``;
writes record campaign_added / campaign_metadata_modified in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.counters import next_number
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.errors import BadRequest, Invalid, NotFound
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import User
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.labels.service import LabelNames, load_label_names
from cmpapi.server.resources.subresources.tables import Brief
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import CampaignCreateRequest, CampaignUpdateRequest, ListCampaignsParametersQuery

KIND = "campaign"  # owner_type of the campaign's shared sub-resources (parent.CAMPAIGN)
NEWEST_FIRST = (Campaign.number.desc(),)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign with what its response shows besides its row: label names, the ids of
    its sub-campaigns (oldest first) and whether it has a brief."""

    campaign: Campaign
    labels: LabelNames
    children: list[str]
    has_brief: bool


# -- for other resources -----------------------------------------------------------------


def load_campaign(
    session: Session, principal: Principal, campaign_id: str, action: str
) -> Campaign:
    """The organization's campaign (404) if the caller's role may ``read``/``write``."""
    require(principal, f"campaigns:{action}")
    return Repository(Campaign, session, principal.org_id).get(campaign_id)


def require_campaign(
    session: Session, org_id: str, campaign_id: str, field: str = "campaign_id"
) -> Campaign:
    """The organization's campaign, or 404 ``Campaign not found`` naming ``field``."""
    found = Repository(Campaign, session, org_id).find(Campaign.id == campaign_id)
    if found is None:
        raise NotFound("Campaign not found", {field: "Unknown campaign"})
    return found


def library_asset_ids(org_id: str, campaign_id: str) -> Select[str | None]:
    """Ids of the library assets a campaign uses: those its tasks took in (task assets
    forked from the library). listAssets' ``campaign_id`` filter; an unknown campaign has
    none."""
    return (
        select(TaskAsset.library_asset_id)
        .join(Task, Task.id == TaskAsset.task_id)
        .where(
            Task.org_id == org_id,
            Task.campaign_id == campaign_id,
            TaskAsset.library_asset_id.is_not(None),
        )
    )


def has_brief(session: Session, campaign: Campaign) -> bool:
    """Whether the campaign has a brief (``links.brief`` is null otherwise)."""
    return session.get(Brief, (KIND, campaign.id)) is not None


# -- helpers -------------------------------------------------------------------------------


def _view(session: Session, campaign: Campaign) -> CampaignView:
    children = session.scalars(
        select(Campaign.id)
        .where(Campaign.org_id == campaign.org_id, Campaign.parent_id == campaign.id)
        .order_by(Campaign.number)
    ).all()
    names = load_label_names(session, campaign.org_id, campaign.labels)
    return CampaignView(campaign, names, list(children), has_brief(session, campaign))


def _check_owner(session: Session, org_id: str, user_id: str) -> None:
    if Repository(User, session, org_id).find(User.id == user_id, User.is_active.is_(True)) is None:
        raise Invalid(
            "Unknown user", {"owner_id": "No active user of the organization has this id"}
        )


def _day(value: Any, field: str) -> date | None:
    """A request's ``YYYY-MM-DD`` (``None`` stays ``None``); 422 naming the field."""
    if value is None or isinstance(value, date):
        return value
    try:
        parsed = date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.year < 1000:
        raise Invalid("Invalid date", {field: "Expected a date: YYYY-MM-DD"})
    return parsed


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The request's values as columns: trimmed title (not blank), a blank description
    stored as ``None``, dates parsed."""
    out = dict(values)
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"]:
            raise Invalid("A campaign needs a title", {"title": "Blank"})
    if isinstance(out.get("description"), str):
        out["description"] = out["description"].strip() or None
    for key in ("start_date", "end_date"):
        if key in out:
            out[key] = _day(out[key], key)
    if "color" in out:
        out["color"] = str(out["color"].value)
    return out


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise Invalid("The end date is before the start date", {"end_date": "Before start_date"})


def record_campaign_event(
    session: Session, links: Links, name: str, campaign: Campaign, work_request: str | None = None
) -> None:
    """campaign_added (``links.work_request``: the request it was made from, or null) or
    campaign_metadata_modified (shared/reference/cmp-webhooks.md §2.3)."""
    refs: dict[str, Any] = {"self": links.to("getCampaign", id=campaign.id)}
    if name == "campaign_added":
        refs["work_request"] = links.to("getWorkRequest", id=work_request) if work_request else None
    record_event(
        session, name, {"campaign": {"id": campaign.id, "links": refs}}, org_id=campaign.org_id
    )


def filter_day(value: str, field: str) -> date:
    """A list filter's ISO 8601 date or date-time, as a UTC date; 400 naming the parameter."""
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "Invalid date", {field: "Expected an ISO 8601 date or date-time"}
        ) from None
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed).date()


# -- operations ----------------------------------------------------------------------------


# Module-level clauses with named parameters (``Repository.rows`` caches by identity).
LIST_COLUMNS = (
    Campaign.id,
    Campaign.title,
    Campaign.description,
    Campaign.start_date,
    Campaign.end_date,
    Campaign.is_hidden,
    Campaign.number,
    Campaign.owner_id,
)
_OWNED_BY = Campaign.owner_id == bindparam("owner")
_ENDING_AFTER = Campaign.end_date >= bindparam("start_date")
_STARTING_BEFORE = Campaign.start_date <= bindparam("end_date")


def list_campaigns(
    session: Session, principal: Principal, params: ListCampaignsParametersQuery
) -> Page[Any]:
    """Campaigns, newest first. ``owner``: owned by that user; ``start_date``: ending on or
    after that day; ``end_date``: starting on or before it (campaigns without the compared
    date are left out). Rows of ``LIST_COLUMNS``."""
    require(principal, "campaigns:read")
    filters = Filters()
    if isinstance(params.owner, str):
        filters.add(_OWNED_BY, owner=params.owner)
    if isinstance(params.start_date, str):
        filters.add(_ENDING_AFTER, start_date=filter_day(params.start_date, "start_date"))
    if isinstance(params.end_date, str):
        filters.add(_STARTING_BEFORE, end_date=filter_day(params.end_date, "end_date"))
    return Repository(Campaign, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=NEWEST_FIRST,
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
    )


def get_campaign(session: Session, principal: Principal, campaign_id: str) -> CampaignView:
    """One campaign of the organization."""
    return _view(session, load_campaign(session, principal, campaign_id, "read"))


def create_campaign(
    session: Session,
    principal: Principal,
    links: Links,
    body: CampaignCreateRequest,
    work_request: str | None = None,
    id_: str | None = None,
) -> CampaignView:
    """Create a campaign (owned by the caller unless ``owner_id`` says otherwise), as a
    sub-campaign of ``parent_campaign`` when given; ``work_request``: the request it is
    made from (createCampaignFromWorkRequest), named by campaign_added; ``id_``: a stable
    id (demo data)."""
    require(principal, "campaigns:write")
    org = principal.org_id
    values = _checked(body.model_dump(exclude_unset=True))
    values.setdefault("owner_id", principal.user_id)
    _check_owner(session, org, values["owner_id"])
    _check_dates(values.get("start_date"), values.get("end_date"))
    parent = values.pop("parent_campaign", None)
    if parent is not None:
        values["parent_id"] = require_campaign(session, org, parent, "parent_campaign").id
    now = utcnow()
    campaign = Campaign(
        id=id_ or new_id(),
        org_id=org,
        number=next_number(session, org, "campaign"),
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
        labels=[],
        **values,
    )
    session.add(campaign)
    session.flush()
    record_campaign_event(session, links, "campaign_added", campaign, work_request)
    session.commit()
    return _view(session, campaign)


def update_campaign(
    session: Session,
    principal: Principal,
    links: Links,
    campaign_id: str,
    body: CampaignUpdateRequest,
) -> None:
    """Change the given keys (``null`` clears a date); campaign_metadata_modified when
    anything changed."""
    campaign = load_campaign(session, principal, campaign_id, "write")
    values = _checked(body.model_dump(exclude_unset=True))
    if "owner_id" in values:
        _check_owner(session, campaign.org_id, values["owner_id"])
    _check_dates(
        values.get("start_date", campaign.start_date), values.get("end_date", campaign.end_date)
    )
    changed = {k: v for k, v in values.items() if getattr(campaign, k) != v}
    if not changed:
        return
    for key, value in changed.items():
        setattr(campaign, key, value)
    campaign.modified_at = utcnow()
    record_campaign_event(session, links, "campaign_metadata_modified", campaign)
    session.commit()
