"""Settings ``webhooks``: export, and import by name through the webhooks service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import service
from cmpapi.server.webhooks.tables import Webhook


def export(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's webhooks as Settings ``webhooks`` items (secrets included: the
    document exists to move configuration between organizations)."""
    rows = session.scalars(select(Webhook).where(Webhook.org_id == org_id).order_by(Webhook.name))
    return [
        {
            "name": w.name,
            "description": w.description,
            "callback_url": w.callback_url,
            "secret": w.secret or "",
            "event_names": list(w.event_names),
        }
        for w in rows
    ]


def import_webhooks(
    session: Session, org_id: str, items: Sequence[Any], settings: Settings
) -> tuple[list[str], list[str]]:
    """A single webhook of the same name gets the events unioned (its URL and secret
    replaced); otherwise a new webhook is created. Writes (flushes) even for a dry run,
    so the caller rolls back: the dry run validates exactly like the real one."""
    created: list[str] = []
    updated: list[str] = []
    for item in items:
        result = service.merge_webhook_by_name(
            session,
            org_id,
            item.name,
            item.callback_url,
            item.secret,
            list(item.event_names),
            description=item.description,
            settings=settings,
        )
        (created if result.created else updated).append(item.name)
    return created, updated
