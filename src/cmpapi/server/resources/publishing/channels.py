"""Publishing channels: listPublishingChannels, and the configuration the API has no
operation for (``/ext/v1``, the CLI, the Settings import and the demo seed all come here).

Channels are organization configuration: admins create and change them; everyone reads
them. cmpapi serves one type, ``webhook``: what is published on a channel is delivered as
``asset_published`` / ``asset_synced`` / ``asset_unpublished`` to the organization's
webhooks subscribed to those events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.publishing.tables import WEBHOOK, PublishingChannel

MAX_NAME, MAX_ITEMS = 255, 100
# A BCP 47-like tag: "en", "en-US", "zh-Hant-TW", "pt_BR".
LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
EDITABLE = ("name", "disabled", "locales", "allowed_domains")


# What a page reads (``Repository.rows`` prepares each once): listPublishingChannels'
# items, and a channel's configuration as ``/ext/v1`` shows it (``channel_view``).
LIST_COLUMNS = (PublishingChannel.id, PublishingChannel.name, PublishingChannel.disabled)
CONFIG_COLUMNS = (
    *LIST_COLUMNS,
    PublishingChannel.type,
    PublishingChannel.locales,
    PublishingChannel.allowed_domains,
    PublishingChannel.created_at,
)
BY_NAME = (PublishingChannel.name,)


def list_publishing_channels(
    session: Session,
    principal: Principal,
    offset: int,
    page_size: int,
    columns: Sequence[Any] = LIST_COLUMNS,
) -> Page[Any]:
    """The organization's channels by name, disabled ones included (they say so): rows of
    ``columns`` (``LIST_COLUMNS`` or ``CONFIG_COLUMNS``)."""
    require(principal, "publishing:read")
    return Repository(PublishingChannel, session, principal.org_id).rows(
        columns, order_by=BY_NAME, offset=offset, page_size=page_size
    )


def load_channel(session: Session, org_id: str, channel_id: str, field: str) -> PublishingChannel:
    """The organization's channel (404 naming ``field`` otherwise)."""
    channel = Repository(PublishingChannel, session, org_id).find(
        PublishingChannel.id == channel_id
    )
    if channel is None:
        raise NotFound("Publishing channel not found", {field: "No such publishing channel"})
    return channel


def usable_channel(
    session: Session, org_id: str, channel_id: str, field: str = "channel_id"
) -> PublishingChannel:
    """A channel one may publish on: known (404) and enabled (422), both naming ``field``."""
    channel = load_channel(session, org_id, channel_id, field)
    if channel.disabled:
        raise Invalid("The publishing channel is disabled", {field: "Disabled channel"})
    return channel


def _by_name(session: Session, org_id: str, name: str) -> PublishingChannel | None:
    return Repository(PublishingChannel, session, org_id).find(
        func.lower(PublishingChannel.name) == name.casefold()
    )


def _name(session: Session, org_id: str, name: Any, own_id: str | None) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise Invalid("Invalid channel name", {"name": f"1 to {MAX_NAME} characters"})
    other = _by_name(session, org_id, name.strip())
    if other is not None and other.id != own_id:
        raise Invalid("A channel of this name exists", {"name": "Name already in use"})
    return name.strip()


def _list(values: Any, pattern: re.Pattern[str], field: str, fold: bool) -> list[str]:
    if not isinstance(values, list) or len(values) > MAX_ITEMS:
        raise Invalid(f"Invalid {field}", {field: f"A list of at most {MAX_ITEMS} values"})
    out: list[str] = []
    for n, value in enumerate(values):
        text = value.strip().lower() if fold and isinstance(value, str) else value
        if not isinstance(text, str) or not pattern.fullmatch(text):
            raise Invalid(f"Invalid {field}", {f"{field}.{n}": "Not a valid value"})
        if text not in out:
            out.append(text)
    return out


def _check(session: Session, org_id: str, values: dict[str, Any], own_id: str | None) -> None:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise Invalid("Unknown fields", dict.fromkeys(sorted(unknown), "Unknown field"))
    if "name" in values:
        values["name"] = _name(session, org_id, values["name"], own_id)
    if "disabled" in values and not isinstance(values["disabled"], bool):
        raise Invalid("Invalid disabled", {"disabled": "A boolean"})
    if "locales" in values:
        values["locales"] = _list(values["locales"], LOCALE, "locales", fold=False)
    if "allowed_domains" in values:
        values["allowed_domains"] = _list(
            values["allowed_domains"], DOMAIN, "allowed_domains", fold=True
        )


def add_channel(
    session: Session, org_id: str, name: str, *, id_: str | None = None, **values: Any
) -> PublishingChannel:
    """A new webhook channel (flushed, not committed); ``values``: ``disabled``,
    ``locales``, ``allowed_domains``. A name in use (case-insensitively) is 422."""
    values = {"name": name, **values}
    _check(session, org_id, values, None)
    now = utcnow()
    channel = PublishingChannel(
        id=id_ or new_id(),
        org_id=org_id,
        type=WEBHOOK,
        disabled=values.get("disabled", False),
        locales=values.get("locales", []),
        allowed_domains=values.get("allowed_domains", []),
        name=values["name"],
        created_at=now,
        modified_at=now,
    )
    session.add(channel)
    session.flush()
    return channel


def change_channel(
    session: Session, org_id: str, channel_id: str, values: dict[str, Any]
) -> PublishingChannel:
    """Change the given keys of a channel (flushed, not committed)."""
    channel = load_channel(session, org_id, channel_id, "id")
    values = dict(values)
    _check(session, org_id, values, channel.id)
    for key, value in values.items():
        setattr(channel, key, value)
    channel.modified_at = utcnow()
    session.flush()
    return channel


def merge_channels(session: Session, org_id: str, names: Iterable[str]) -> list[str]:
    """Make sure a channel of each name exists (the Settings import: a webhook subscribed
    to ``asset_published`` is a webhook channel of the same name). Existing channels are
    left as they are; returns the names of the channels created."""
    created: list[str] = []
    for name in dict.fromkeys(n.strip() for n in names):
        if name and len(name) <= MAX_NAME and _by_name(session, org_id, name) is None:
            add_channel(session, org_id, name)
            created.append(name)
    return created


def merge_workflow_channels(session: Session, org_id: str, workflows: Sequence[Any]) -> list[str]:
    """The webhook channels that imported Settings ``workflows`` name as their
    ``default_channels`` (``{"display_name", "type": "webhook"}``) exist afterwards; the
    names of those created. Channels of other types are not served and are left out."""
    names = [
        c.display_name
        for w in workflows
        for c in w.default_channels or []
        if isinstance(c.type, str) and c.type.casefold() == WEBHOOK
    ]
    return merge_channels(session, org_id, names)


# -- the /ext/v1 and CLI entry points (admins) ------------------------------------------


def create_channel(session: Session, principal: Principal, values: dict[str, Any]) -> Any:
    """``POST /ext/v1/publishing-channels``."""
    require(principal, "settings:write")
    values = dict(values)
    name = values.pop("name", None)
    channel = add_channel(session, principal.org_id, name, **values)
    session.commit()
    return channel


def update_channel(
    session: Session, principal: Principal, channel_id: str, values: dict[str, Any]
) -> PublishingChannel:
    """``PATCH /ext/v1/publishing-channels/{id}``."""
    require(principal, "settings:write")
    channel = change_channel(session, principal.org_id, channel_id, values)
    session.commit()
    return channel


def channel_view(channel: Any) -> dict[str, Any]:
    """A channel (a PublishingChannel or a ``CONFIG_COLUMNS`` row) as ``/ext/v1`` shows it
    (JSON-ready)."""
    return {
        "id": channel.id,
        "name": channel.name,
        "type": channel.type,
        "disabled": channel.disabled,
        "locales": list(channel.locales),
        "allowed_domains": list(channel.allowed_domains),
        "created_at": channel.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
