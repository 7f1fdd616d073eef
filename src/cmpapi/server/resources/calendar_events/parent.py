"""Calendar events as a parent of shared field values (``subresources.fields``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.http.links import Links
from cmpapi.server.resources.calendar_events.service import (
    OWNER,
    get_event,
    load_event,
    record_calendar_event,
)
from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.subresources.parent import Owner, Parent


def write_event(session: Session, principal: Principal, event_id: str) -> CalendarEvent:
    """The event, if the caller may change events (viewers may not: 403)."""
    return load_event(session, principal, event_id, "write")


def _fields_changed(session: Session, links: Links, owner: Owner, _: Sequence[Field]) -> None:
    # The CMP has no event-field event: the values are part of the event (event_modified).
    record_calendar_event(session, links, "event_modified", cast(CalendarEvent, owner))


EVENT = Parent(
    kind=OWNER,
    get_op="getEvent",
    read=get_event,
    write=write_event,
    fields_changed=_fields_changed,
)
