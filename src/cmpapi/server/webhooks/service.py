"""Webhook administration: what the /ext/v1 API, the CLI and the Settings API call.

Functions take ``(session, org_id, ...)``, raise domain errors (422 ``Invalid`` with field
errors, 404 ``NotFound``, 409 ``Conflict``) and commit, except ``merge_webhook_by_name``,
which only flushes: the Settings API applies many merges in one transaction (and rolls
back a dry run). ``settings`` decides which callback URLs are allowed (plain http to
loopback, private targets); without it the strict defaults apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from cmpapi import standard_webhooks as signing
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.errors import Conflict, Invalid
from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.jobs.schedules import parse_schedule
from cmpapi.server.jobs.tables import now
from cmpapi.server.observability.context import current_request_id
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import results, trigger
from cmpapi.server.webhooks.ssrf import check_callback_url
from cmpapi.server.webhooks.tables import (
    DELIVERING,
    FAILED,
    PENDING,
    PING,
    STATUSES,
    Delivery,
    DeliveryAttempt,
    Webhook,
)

SECRET_MAX = 32
NAME_MAX = 200
EDITABLE = ("name", "description", "callback_url", "secret", "event_names")
ADMIN_REASON = "Disabled by an administrator"
_STRICT = Settings.model_construct()  # defaults only: https, no private targets


@dataclass(frozen=True)
class MergeResult:
    """What ``merge_webhook_by_name`` did: ``created`` a webhook, or updated one (the
    ``changed`` fields; ``added_event_names`` joined its subscriptions)."""

    webhook: Webhook
    created: bool
    added_event_names: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        """``"create"``, ``"update"`` or ``"none"`` (nothing to change)."""
        if self.created:
            return "create"
        return "update" if self.changed else "none"


# -- validation ---------------------------------------------------------------------


_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def _check(values: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Normalised values, or Invalid naming every bad field."""
    errors: dict[str, str] = {}
    out = dict(values)
    if "name" in values:
        out["name"] = str(values["name"] or "").strip()
        if not out["name"] or len(out["name"]) > NAME_MAX:
            errors["name"] = f"Required, at most {NAME_MAX} characters"
    if "callback_url" in values:
        out["callback_url"] = str(values["callback_url"] or "").strip()
        if reason := check_callback_url(out["callback_url"], settings):
            errors["callback_url"] = reason
    if "secret" in values:
        out["secret"] = values["secret"] or None  # "" means no secret
        secret = out["secret"]
        # Sent as a header value: printable ASCII only, so it cannot end the header.
        if secret is not None and (len(secret) > SECRET_MAX or not _PRINTABLE.fullmatch(secret)):
            errors["secret"] = f"At most {SECRET_MAX} printable ASCII characters"
    if "event_names" in values:
        names = list(dict.fromkeys(values["event_names"] or ()))
        unknown = [n for n in names if n not in EVENT_NAMES]
        if unknown:
            errors["event_names"] = f"Unknown event names: {', '.join(map(str, unknown))}"
        elif not names:
            errors["event_names"] = "Subscribe to at least one event"
        out["event_names"] = names
    if errors:
        raise Invalid("Invalid webhook", errors)
    return out


def max_attempts(settings: Settings | None) -> int:
    """Attempts a delivery gets: one, plus one per entry of the retry schedule."""
    return len(parse_schedule((settings or _STRICT).webhook_retry_schedule)) + 1


# -- webhooks -----------------------------------------------------------------------


def get_webhook(session: Session, org_id: str, webhook_id: str) -> Webhook:
    """The organization's webhook, or NotFound."""
    return Repository(Webhook, session, org_id).get(webhook_id)


# What a page of webhooks reads (``Repository.rows`` prepares it once).
WEBHOOK_COLUMNS = (
    Webhook.id,
    Webhook.name,
    Webhook.description,
    Webhook.callback_url,
    Webhook.secret,
    Webhook.signing_key,
    Webhook.event_names,
    Webhook.is_active,
    Webhook.disabled_reason,
    Webhook.disabled_at,
    Webhook.failing_since,
    Webhook.last_success_at,
    Webhook.last_failure_at,
    Webhook.created_at,
    Webhook.modified_at,
)
OLDEST_FIRST = (Webhook.created_at,)


def list_webhooks(session: Session, org_id: str, offset: int = 0, page_size: int = 10) -> Page[Any]:
    """The organization's webhooks, oldest first (rows of ``WEBHOOK_COLUMNS``)."""
    return Repository(Webhook, session, org_id).rows(
        WEBHOOK_COLUMNS, order_by=OLDEST_FIRST, offset=offset, page_size=page_size
    )


def create_webhook(
    session: Session,
    org_id: str,
    *,
    name: str,
    callback_url: str,
    event_names: Sequence[str],
    secret: str | None = None,
    description: str = "",
    settings: Settings | None = None,
    commit: bool = True,
) -> Webhook:
    """Register a webhook with a fresh signing key."""
    values = _check(
        {"name": name, "callback_url": callback_url, "event_names": event_names, "secret": secret},
        settings or _STRICT,
    )
    webhook = Webhook(
        **values,
        description=description or "",
        signing_key=signing.new_signing_key(),
        is_active=True,
    )
    Repository(Webhook, session, org_id).add(webhook)
    if commit:
        session.commit()
    return webhook


def update_webhook(
    session: Session,
    org_id: str,
    webhook_id: str,
    changes: Mapping[str, Any],
    settings: Settings | None = None,
    *,
    commit: bool = True,
) -> Webhook:
    """Change any of name, description, callback_url, secret (None: none) and event_names."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid("Invalid webhook", dict.fromkeys(sorted(unknown), "Unknown field"))
    webhook = get_webhook(session, org_id, webhook_id)
    values = _check(changes, settings or _STRICT)
    if "description" in values:
        values["description"] = values["description"] or ""
    for key, value in values.items():
        setattr(webhook, key, value)
    webhook.modified_at = now()
    session.flush()
    if commit:
        session.commit()
    return webhook


def disable_webhook(
    session: Session, org_id: str, webhook_id: str, reason: str | None = None
) -> Webhook:
    """Stop deliveries to the webhook; its pending deliveries fail (replayable later)."""
    webhook = get_webhook(session, org_id, webhook_id)
    if webhook.is_active:
        results.disable(session.connection(), [webhook.id], reason or ADMIN_REASON, now())
        session.commit()
        session.refresh(webhook)
    return webhook


def enable_webhook(session: Session, org_id: str, webhook_id: str) -> Webhook:
    """Deliver to the webhook again (new events only; redeliver failed ones to replay)."""
    webhook = get_webhook(session, org_id, webhook_id)
    if not webhook.is_active:
        webhook.is_active = True
        webhook.disabled_reason = webhook.disabled_at = webhook.failing_since = None
        webhook.modified_at = now()
        session.commit()
    return webhook


def delete_webhook(session: Session, org_id: str, webhook_id: str) -> None:
    """Delete the webhook with its deliveries and attempts."""
    Repository(Webhook, session, org_id).delete(get_webhook(session, org_id, webhook_id))
    session.commit()


def merge_webhook_by_name(
    session: Session,
    org_id: str,
    name: str,
    callback_url: str | None,
    secret: str | None,
    event_names: Sequence[str],
    *,
    description: str | None = None,
    settings: Settings | None = None,
) -> MergeResult:
    """The Settings API's rule: exactly one webhook named ``name`` is updated (event names
    joined, ``callback_url``/``secret``/``description`` replaced when given, ``""`` clearing
    the secret); none or several: a new one is created. Flushes; the caller commits."""
    same = session.scalars(
        select(Webhook).where(Webhook.org_id == org_id, Webhook.name == name.strip()).limit(2)
    ).all()
    if len(same) != 1:
        created = create_webhook(
            session,
            org_id,
            name=name,
            callback_url=callback_url or "",
            event_names=event_names,
            secret=secret,
            description=description or "",
            settings=settings,
            commit=False,
        )
        return MergeResult(created, True, list(created.event_names), [])
    webhook = same[0]
    changes: dict[str, Any] = {}
    added = [n for n in dict.fromkeys(event_names) if n not in webhook.event_names]
    if added:
        changes["event_names"] = [*webhook.event_names, *added]
    given = {"callback_url": callback_url, "secret": secret, "description": description}
    for key, value in given.items():
        if value is not None and (value or None) != (getattr(webhook, key) or None):
            changes[key] = value
    if changes:
        update_webhook(session, org_id, webhook.id, changes, settings, commit=False)
    return MergeResult(webhook, False, added, sorted(changes))


# -- deliveries ---------------------------------------------------------------------


# What a page of deliveries reads, as module-level columns and clauses
# (``Repository.rows`` prepares them once per combination of filters).
DELIVERY_COLUMNS = (
    Delivery.id,
    Delivery.webhook_id,
    Delivery.event_id,
    Delivery.event_name,
    Delivery.status,
    Delivery.attempts,
    Delivery.max_attempts,
    Delivery.next_attempt_at,
    Delivery.last_status_code,
    Delivery.last_error,
    Delivery.last_attempt_at,
    Delivery.created_at,
    Delivery.finished_at,
)
NEWEST_FIRST = (Delivery.created_at.desc(),)
_DELIVERY_FILTERS: dict[str, ColumnElement[bool]] = {
    "webhook_id": Delivery.webhook_id == bindparam("webhook_id"),
    "event_id": Delivery.event_id == bindparam("event_id"),
    "status": Delivery.status == bindparam("status"),
    "event_name": Delivery.event_name == bindparam("event_name"),
    "since": Delivery.created_at >= bindparam("since"),
}


def list_deliveries(
    session: Session,
    org_id: str,
    *,
    webhook_id: str | None = None,
    event_id: str | None = None,
    status: str | None = None,
    event_name: str | None = None,
    since: datetime | None = None,
    offset: int = 0,
    page_size: int = 10,
) -> Page[Any]:
    """Deliveries, newest first, of a webhook and/or an event, filtered (rows of
    ``DELIVERY_COLUMNS``: the body is read by ``get_delivery`` only)."""
    if status is not None and status not in STATUSES:
        raise Invalid("Invalid filter", {"status": f"One of {', '.join(STATUSES)}"})
    if webhook_id is not None:
        get_webhook(session, org_id, webhook_id)
    filters = Filters()
    for name, value in (
        ("webhook_id", webhook_id),
        ("event_id", event_id),
        ("status", status),
        ("event_name", event_name),
        ("since", since),
    ):
        if value is not None:
            filters.add(_DELIVERY_FILTERS[name], **{name: value})
    return Repository(Delivery, session, org_id).rows(
        DELIVERY_COLUMNS,
        *filters.where,
        order_by=NEWEST_FIRST,
        offset=offset,
        page_size=page_size,
        params=filters.values,
    )


def get_delivery(session: Session, org_id: str, delivery_id: str) -> Delivery:
    """One delivery of the organization, or NotFound."""
    return Repository(Delivery, session, org_id).get(delivery_id)


def list_attempts(
    session: Session,
    org_id: str,
    *,
    webhook_id: str | None = None,
    delivery_id: str | None = None,
    offset: int = 0,
    page_size: int = 10,
) -> Page[DeliveryAttempt]:
    """Attempts, newest first, of a webhook or of one delivery."""
    stmt = select(DeliveryAttempt).join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
    stmt = stmt.where(Delivery.org_id == org_id)
    if webhook_id is not None:
        get_webhook(session, org_id, webhook_id)
        stmt = stmt.where(DeliveryAttempt.webhook_id == webhook_id)
    if delivery_id is not None:
        get_delivery(session, org_id, delivery_id)
        stmt = stmt.where(DeliveryAttempt.delivery_id == delivery_id)
    stmt = stmt.order_by(DeliveryAttempt.started_at.desc(), DeliveryAttempt.id.desc())
    rows = list(session.scalars(stmt.offset(offset).limit(page_size + 1)))
    return Page(rows[:page_size], offset, page_size, len(rows) > page_size)


def recent_attempts(
    session: Session,
    org_id: str,
    webhook_id: str | None = None,
    *,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[tuple[DeliveryAttempt, str, str]]:
    """The newest attempts (started at or after ``since``) with their webhook's name and
    event name, newest first: what ``cmpapi webhooks tail`` prints."""
    stmt = (
        select(DeliveryAttempt, Webhook.name, Delivery.event_name)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.org_id == org_id)
        .order_by(DeliveryAttempt.started_at.desc(), DeliveryAttempt.id.desc())
        .limit(limit)
    )
    if webhook_id is not None:
        stmt = stmt.where(DeliveryAttempt.webhook_id == webhook_id)
    if since is not None:
        stmt = stmt.where(DeliveryAttempt.started_at >= since)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def _requeue(session: Session, deliveries: Sequence[Delivery], settings: Settings | None) -> None:
    at = now()
    for delivery in deliveries:
        delivery.status, delivery.attempts, delivery.next_attempt_at = PENDING, 0, at
        delivery.max_attempts = 1 if delivery.event_name == PING else max_attempts(settings)
        delivery.finished_at = delivery.lease_until = delivery.locked_by = None
        delivery.request_id = current_request_id() or delivery.request_id  # who asked again
    if deliveries:
        trigger.request_dispatch(session, "redeliver")
    session.commit()


def _active(webhook: Webhook) -> None:
    if not webhook.is_active:
        raise Conflict(
            "The webhook is disabled; enable it first",
            {"webhook": webhook.disabled_reason or "disabled"},
        )


def redeliver(
    session: Session, org_id: str, delivery_id: str, settings: Settings | None = None
) -> Delivery:
    """Send a delivery again (same body and ``webhook-id``) with a fresh retry schedule."""
    delivery = get_delivery(session, org_id, delivery_id)
    _active(get_webhook(session, org_id, delivery.webhook_id))
    if delivery.status == DELIVERING:
        raise Conflict("The delivery is being attempted right now")
    _requeue(session, [delivery], settings)
    return delivery


def redeliver_failed(
    session: Session,
    org_id: str,
    webhook_id: str,
    since: datetime,
    settings: Settings | None = None,
) -> int:
    """Send again every failed delivery of the webhook created at or after ``since``."""
    _active(get_webhook(session, org_id, webhook_id))
    failed = session.scalars(
        select(Delivery).where(
            Delivery.org_id == org_id,
            Delivery.webhook_id == webhook_id,
            Delivery.status == FAILED,
            Delivery.created_at >= since,
        )
    ).all()
    _requeue(session, failed, settings)
    return len(failed)


def ping_body(webhook: Webhook) -> str:
    """The test delivery's body: ``{"event_name": "ping", "data": {"webhook": {...}}}``."""
    data = {"webhook": {"id": webhook.id, "name": webhook.name}}
    return orjson.dumps({"event_name": PING, "data": data}).decode()


def send_ping(session: Session, org_id: str, webhook_id: str) -> Delivery:
    """Queue a test delivery (event name ``ping``, one attempt, no effect on the
    webhook's health) and return it."""
    webhook = get_webhook(session, org_id, webhook_id)
    _active(webhook)
    delivery = Delivery(
        id=new_id(),
        org_id=org_id,
        webhook_id=webhook.id,
        event_id=new_id(),
        event_name=PING,
        body=ping_body(webhook),
        status=PENDING,
        attempts=0,
        max_attempts=1,
        next_attempt_at=now(),
        created_at=now(),
        request_id=current_request_id(),
    )
    session.add(delivery)
    trigger.request_dispatch(session, "ping")
    session.commit()
    return delivery
