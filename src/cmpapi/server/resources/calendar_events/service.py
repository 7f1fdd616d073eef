"""Calendar events (the spec's "Events"): listEvents, createEvent, getEvent, updateEvent.

An event may belong to a campaign (``campaign_id``, checked with
``campaigns.service.require_campaign``) and may hold field values (``fields`` of
createEvent), stored by ``fields.values`` with ``owner_type="event"`` as tasks do. Writes
record event_added / event_modified in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.counters import next_number
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.errors import BadRequest, Invalid
from cmpapi.server.events.outbox import record_event
from cmpapi.server.http.links import Links
from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.campaigns.service import require_campaign
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.subresources.fields import known_upload
from cmpapi.wire import EventCreateRequest, EventUpdateRequest, ListEventsParametersQuery

OWNER = "event"
BY_START = (CalendarEvent.start_date,)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Keys whose change fires event_modified (shared/reference/cmp-webhooks.md §2.7).
WATCHED = ("title", "description", "is_all_day", "start_date", "end_date")


def record_calendar_event(session: Session, links: Links, name: str, event: CalendarEvent) -> None:
    data = {"event": {"id": event.id, "links": {"self": links.to("getEvent", id=event.id)}}}
    record_event(session, name, data, org_id=event.org_id)


def _instant(value: str, field: str, *, end_of_day: bool = False) -> datetime:
    """A list filter's ISO 8601 date or date-time in UTC; a bare date is that day's first
    second, or its last with ``end_of_day``. 400 naming the parameter."""
    try:
        if _DAY.fullmatch(value):
            day = datetime.combine(datetime.fromisoformat(value).date(), time(), UTC)
            return day + timedelta(days=1, seconds=-1) if end_of_day else day
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise BadRequest(
            "Invalid date", {field: "Expected an ISO 8601 date or date-time"}
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _checked(given: dict[str, Any]) -> dict[str, Any]:
    """The request's values as columns: trimmed title (not blank), a blank description
    stored as ``None``, dates in UTC whole seconds."""
    out = dict(given)
    if "title" in out:
        out["title"] = out["title"].strip()
        if not out["title"]:
            raise Invalid("An event needs a title", {"title": "Blank"})
    if "description" in out:
        out["description"] = out["description"].strip() or None
    for key in ("start_date", "end_date"):
        if key in out:
            out[key] = out[key].astimezone(UTC).replace(microsecond=0)
    return out


def _check_dates(start: datetime, end: datetime) -> None:
    if end < start:
        raise Invalid("The event ends before it starts", {"end_date": "Before start_date"})


# What a page reads, as module-level columns and clauses (``Repository.rows`` prepares
# them once per combination of filters; the request's values go in ``params``).
LIST_COLUMNS = (
    CalendarEvent.id,
    CalendarEvent.number,
    CalendarEvent.title,
    CalendarEvent.description,
    CalendarEvent.campaign_id,
    CalendarEvent.start_date,
    CalendarEvent.end_date,
    CalendarEvent.is_all_day,
    CalendarEvent.is_archived,
    CalendarEvent.created_by,
)
_ENDING_AFTER = CalendarEvent.end_date >= bindparam("start_date")
_STARTING_BEFORE = CalendarEvent.start_date <= bindparam("end_date")
_IN_CAMPAIGN = CalendarEvent.campaign_id == bindparam("campaign_id")


def list_events(
    session: Session, principal: Principal, params: ListEventsParametersQuery
) -> Page[Any]:
    """Events by start date. ``start_date``: ending at or after it; ``end_date``: starting
    at or before it (a bare date counts the whole day); ``campaign_id``: of that campaign.
    Rows of ``LIST_COLUMNS``."""
    require(principal, "events:read")
    filters = Filters()
    if isinstance(params.start_date, str):
        filters.add(_ENDING_AFTER, start_date=_instant(params.start_date, "start_date"))
    if isinstance(params.end_date, str):
        filters.add(
            _STARTING_BEFORE, end_date=_instant(params.end_date, "end_date", end_of_day=True)
        )
    if isinstance(params.campaign_id, str):
        filters.add(_IN_CAMPAIGN, campaign_id=params.campaign_id)
    return Repository(CalendarEvent, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=BY_START,
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
    )


def load_event(session: Session, principal: Principal, event_id: str, action: str) -> CalendarEvent:
    """The organization's event (404) if the caller's role may ``read``/``write``."""
    require(principal, f"events:{action}")
    return Repository(CalendarEvent, session, principal.org_id).get(event_id)


def get_event(session: Session, principal: Principal, event_id: str) -> CalendarEvent:
    """One event of the organization."""
    return load_event(session, principal, event_id, "read")


def _fields(session: Session, org_id: str, items: list[Any]) -> list[values.FieldValues]:
    """createEvent's ``fields``, checked; errors name ``fields.N.id`` / ``.type`` /
    ``.values``."""
    inputs = [replace(i, where=f"fields.{i.where}") for i in values.inputs_from_items(items)]
    return values.validate_field_values(
        session, org_id, inputs, known_upload=known_upload(session, org_id)
    )


def create_event(
    session: Session,
    principal: Principal,
    links: Links,
    body: EventCreateRequest,
    id_: str | None = None,
) -> CalendarEvent:
    """Create an event, in a campaign when ``campaign_id`` is given, with field values
    (``id_``: a stable id, for demo data)."""
    require(principal, "events:write")
    org = principal.org_id
    given = _checked(body.model_dump(exclude_unset=True, exclude={"fields"}))
    _check_dates(given["start_date"], given["end_date"])
    if "campaign_id" in given:
        require_campaign(session, org, given["campaign_id"])
    checked = _fields(session, org, list(body.fields)) if isinstance(body.fields, list) else []
    now = utcnow()
    event = CalendarEvent(
        id=id_ or new_id(),
        org_id=org,
        number=next_number(session, org, "event"),
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
        **given,
    )
    session.add(event)
    session.flush()
    if checked:
        values.replace_field_values(session, org, OWNER, event.id, checked)
    record_calendar_event(session, links, "event_added", event)
    session.commit()
    return event


def update_event(
    session: Session, principal: Principal, links: Links, event_id: str, body: EventUpdateRequest
) -> CalendarEvent:
    """Change the given keys; event_modified when anything changed."""
    event = load_event(session, principal, event_id, "write")
    given = _checked(body.model_dump(exclude_unset=True))
    _check_dates(given.get("start_date", event.start_date), given.get("end_date", event.end_date))
    changed = {k: v for k, v in given.items() if getattr(event, k) != v}
    if not changed:
        return event
    for key, value in changed.items():
        setattr(event, key, value)
    event.modified_at = utcnow()
    record_calendar_event(session, links, "event_modified", event)
    session.commit()
    return event
