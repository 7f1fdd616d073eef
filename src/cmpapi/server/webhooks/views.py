"""Webhooks, deliveries and attempts as JSON for the /ext/v1 API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from cmpapi.server.http.links import Links
from cmpapi.server.webhooks.tables import PENDING, DeliveryAttempt


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and ``Z`` (retries can be milliseconds apart)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def webhook_view(webhook: Any, links: Links) -> dict[str, Any]:
    """A webhook (a Webhook or a ``service.WEBHOOK_COLUMNS`` row) with its secrets (admins
    configure receivers with them)."""
    base = f"/ext/v1/webhooks/{webhook.id}"
    return {
        "id": webhook.id,
        "name": webhook.name,
        "description": webhook.description,
        "callback_url": webhook.callback_url,
        "secret": webhook.secret,
        "signing_key": webhook.signing_key,
        "event_names": list(webhook.event_names),
        "is_active": webhook.is_active,
        "disabled_reason": webhook.disabled_reason,
        "disabled_at": timestamp(webhook.disabled_at),
        "failing_since": timestamp(webhook.failing_since),
        "last_success_at": timestamp(webhook.last_success_at),
        "last_failure_at": timestamp(webhook.last_failure_at),
        "created_at": timestamp(webhook.created_at),
        "modified_at": timestamp(webhook.modified_at),
        "links": {
            "self": links.url(base),
            "deliveries": links.url(f"{base}/deliveries"),
            "attempts": links.url(f"{base}/attempts"),
        },
    }


def delivery_view(delivery: Any, links: Links, *, body: bool = False) -> dict[str, Any]:
    """A delivery (a Delivery or a ``service.DELIVERY_COLUMNS`` row); ``body`` adds the
    JSON body that is (or was) sent (a Delivery's)."""
    base = f"/ext/v1/webhooks/{delivery.webhook_id}/deliveries/{delivery.id}"
    out: dict[str, Any] = {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "event_name": delivery.event_name,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "next_attempt_at": (
            timestamp(delivery.next_attempt_at) if delivery.status == PENDING else None
        ),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_attempt_at": timestamp(delivery.last_attempt_at),
        "created_at": timestamp(delivery.created_at),
        "finished_at": timestamp(delivery.finished_at),
        "links": {
            "self": links.url(base),
            "redeliver": links.url(f"{base}/redeliver"),
            "webhook": links.url(f"/ext/v1/webhooks/{delivery.webhook_id}"),
        },
    }
    if body:
        out["body"] = orjson.loads(delivery.body)
    return out


def attempt_view(attempt: DeliveryAttempt) -> dict[str, Any]:
    """One attempt: status code, latency, response excerpt or error."""
    return {
        "id": attempt.id,
        "delivery_id": attempt.delivery_id,
        "webhook_id": attempt.webhook_id,
        "attempt": attempt.attempt,
        "started_at": timestamp(attempt.started_at),
        "latency_ms": attempt.latency_ms,
        "status_code": attempt.status_code,
        "succeeded": attempt.succeeded,
        "response_excerpt": attempt.response_excerpt,
        "error": attempt.error,
    }
