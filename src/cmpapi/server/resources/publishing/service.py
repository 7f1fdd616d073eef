"""Publishing tag: getPublishingEvent, listPublishingEventMetadata,
getPublishingEventAssetMetadata, bulkCreatePublishingEventMetadata (listPublishingChannels
is ``channels``), and publishing on demand for ``/ext/v1`` and the CLI.

Everyone in the organization reads publishing events and their metadata; admins and
members (an integration's token user is one) post metadata and publish; other
organizations get 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.publishing import loop
from cmpapi.server.resources.publishing.channels import load_channel, usable_channel
from cmpapi.server.resources.publishing.mapping import BulkCreateError, EventView, bulk_error
from cmpapi.server.resources.publishing.rules import LIVE, Batch, Refused
from cmpapi.server.resources.publishing.tables import (
    PublishingEvent,
    PublishingEventAsset,
    PublishingMetadata,
    precise_now,
)
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import ListPublishingEventMetadataParametersQuery as MetadataQuery
from cmpapi.wire import PublishingEventMetadataCreateRequest as Item

MAX_BATCH = 1000
# bulkCreatePublishingEventMetadata's result: the event, the stored rows, the refusals.
Stored = tuple[EventView, list[PublishingMetadata], list[BulkCreateError]]


def _event(session: Session, principal: Principal, event_id: str, action: str) -> PublishingEvent:
    require(principal, f"publishing:{action}")
    return Repository(PublishingEvent, session, principal.org_id).get(event_id)


def _view(session: Session, event: PublishingEvent) -> EventView:
    assets = session.scalars(
        select(PublishingEventAsset)
        .where(PublishingEventAsset.event_id == event.id)
        .order_by(PublishingEventAsset.position)
    ).all()
    metadata = session.scalars(
        select(PublishingMetadata)
        .where(PublishingMetadata.event_id == event.id)
        .order_by(PublishingMetadata.created_at, PublishingMetadata.id)
    ).all()
    return EventView(event, assets, metadata)


def get_publishing_event(session: Session, principal: Principal, event_id: str) -> EventView:
    """A publishing event with its assets and the ids of their metadata."""
    return _view(session, _event(session, principal, event_id, "read"))


def list_publishing_event_metadata(
    session: Session, principal: Principal, event_id: str, params: MetadataQuery
) -> tuple[EventView, list[PublishingMetadata]]:
    """The event's metadata, oldest first, filtered by status, asset type, asset id and
    locale (case-insensitive; an empty ``locale=`` finds metadata without one)."""
    view = _view(session, _event(session, principal, event_id, "read"))
    rows = list(view.metadata)
    if params.status is not MISSING:
        rows = [r for r in rows if r.status == params.status.value]
    if params.asset_type is not MISSING:
        rows = [r for r in rows if r.asset_type == params.asset_type.value]
    if isinstance(params.asset_id, str):
        rows = [r for r in rows if r.asset_id == params.asset_id]
    if isinstance(params.locale, str):
        wanted = params.locale.strip().casefold()
        rows = [r for r in rows if r.locale.casefold() == wanted]
    return view, rows


def get_publishing_event_asset_metadata(
    session: Session, principal: Principal, event_id: str, asset_id: str, metadata_id: str
) -> tuple[EventView, PublishingMetadata]:
    """One metadata item of an asset of the event (404 unless all three ids match)."""
    view = _view(session, _event(session, principal, event_id, "read"))
    row = next((m for m in view.metadata if m.id == metadata_id and m.asset_id == asset_id), None)
    if row is None:
        raise NotFound("Publishing metadata not found")
    return view, row


def bulk_create_publishing_event_metadata(
    session: Session, principal: Principal, event_id: str, items: Sequence[Item]
) -> Stored:
    """Store each valid item; answer the stored rows and an error per refused item (the
    valid ones are stored even when others are refused; one transaction)."""
    event = _event(session, principal, event_id, "write")
    if len(items) > MAX_BATCH:
        raise Invalid("Too many items", {"data": f"At most {MAX_BATCH} items per request"})
    try:
        return _store(session, principal, event, items)
    except IntegrityError:  # a concurrent request stored the same asset and locale first
        session.rollback()
        event = _event(session, principal, event_id, "write")
        return _store(session, principal, event, items)


def _url_owners(session: Session, org_id: str, urls: set[str]) -> dict[str, set[str]]:
    """Public URL -> the assets published at it: metadata saying published or synced,
    for an asset still live on that event's channel (a withdrawal frees its URL)."""
    rows = session.execute(
        select(
            PublishingMetadata.public_url, PublishingMetadata.asset_id, PublishingEvent.channel_id
        )
        .join(PublishingEvent, PublishingEvent.id == PublishingMetadata.event_id)
        .where(
            PublishingMetadata.org_id == org_id,
            PublishingMetadata.public_url.in_(urls),
            PublishingMetadata.status.in_(LIVE),
        )
    ).all()
    owners: dict[str, set[str]] = {}
    for channel_id in {channel_id for _, _, channel_id in rows}:
        live = loop.live_on(session, channel_id, [a for _, a, c in rows if c == channel_id])
        for url, asset_id, _ in (r for r in rows if r[2] == channel_id and r[1] in live):
            if url is not None:
                owners.setdefault(url, set()).add(asset_id)
    return owners


def _batch(session: Session, view: EventView, items: Sequence[Item]) -> Batch:
    org_id = view.event.org_id
    channel = load_channel(session, org_id, view.event.channel_id, "channel_id")
    urls = {i.public_url.strip() for i in items if isinstance(i.public_url, str)}
    batch = Batch(
        channel=channel,
        assets={a.asset_id: a for a in view.assets},
        stored={(m.asset_id, m.locale.casefold()) for m in view.metadata},
        url_owners=_url_owners(session, org_id, urls) if urls else {},
        now=precise_now(),
    )
    batch.count(list(items))
    return batch


def _store(
    session: Session, principal: Principal, event: PublishingEvent, items: Sequence[Item]
) -> Stored:
    view = _view(session, event)
    batch = _batch(session, view, items)
    stored: list[PublishingMetadata] = []
    errors: list[BulkCreateError] = []
    for item in items:
        try:
            ok = batch.check(item)
        except Refused as refused:
            asset = batch.assets.get(item.asset_id)
            locale = item.locale if isinstance(item.locale, str) else None
            message = item.status_message if isinstance(item.status_message, str) else None
            errors.append(
                bulk_error(
                    item.asset_id,
                    refused.code,
                    locale,
                    refused.message,
                    asset.asset_type if asset else None,
                    message,
                )
            )
            continue
        batch.claim(ok)
        stored.append(
            PublishingMetadata(
                id=new_id(),
                org_id=event.org_id,
                event_id=event.id,
                asset_id=ok.asset.asset_id,
                asset_type=ok.asset.asset_type,
                status=ok.status,
                status_message=ok.status_message,
                locale=ok.locale,
                public_url=ok.public_url,
                publishing_destination_updated_at=ok.updated_at,
                created_by=principal.user_id,
                created_at=precise_now(),
            )
        )
    session.add_all(stored)
    session.flush()
    session.commit()
    return _view(session, event), stored, errors


def public_url(session: Session, org_id: str, asset_id: str) -> str | None:
    """The asset's public URL: the newest one its publishing metadata gives while it is
    live on that channel (getTaskArticle's ``url``), else None."""
    rows = session.execute(
        select(PublishingMetadata.public_url, PublishingEvent.channel_id)
        .join(PublishingEvent, PublishingEvent.id == PublishingMetadata.event_id)
        .where(
            PublishingMetadata.org_id == org_id,
            PublishingMetadata.asset_id == asset_id,
            PublishingMetadata.status.in_(LIVE),
            PublishingMetadata.public_url.is_not(None),
        )
        .order_by(PublishingMetadata.created_at.desc())
    ).all()
    for url, channel_id in rows:
        if loop.live_on(session, channel_id, [asset_id]):
            return str(url)
    return None


# -- publishing on demand (/ext/v1, CLI) --------------------------------------------------


def push_task(
    session: Session,
    links: Links,
    org_id: str,
    channel_id: str,
    task_id: str,
    asset_ids: Sequence[str] | None,
    user_id: str | None,
    *,
    withdraw: bool = False,
) -> EventView:
    """Publish (or re-sync) the task's assets on the channel, or withdraw them; all of
    them, or those of ``asset_ids``. Commits; the new event."""
    channel = usable_channel(session, org_id, channel_id)
    task = Repository(Task, session, org_id).get(task_id)
    assets = loop.task_assets(session, task, asset_ids)
    if not withdraw and channel.name.casefold() in loop.workflow_channels(session, task)[1]:
        raise Invalid(
            "The task's workflow does not allow this publishing channel",
            {"channel_id": "Disallowed by the workflow"},
        )
    if withdraw:
        pushed = loop.withdraw(
            session, links, channel, task, assets, user_id, chosen=asset_ids is not None
        )
    else:
        pushed = loop.publish(session, links, channel, task, assets, user_id)
    session.commit()
    return EventView(pushed.event, pushed.assets, [])


def publish_task(
    session: Session,
    principal: Principal,
    links: Links,
    channel_id: str,
    task_id: str,
    asset_ids: Sequence[str] | None,
    withdraw: bool,
) -> EventView:
    """``POST /ext/v1/publishing-channels/{id}/publish`` (and ``/withdraw``): admins and
    members who may read the task."""
    require(principal, "publishing:write")
    load_task(session, principal, task_id, "read")
    return push_task(
        session,
        links,
        principal.org_id,
        channel_id,
        task_id,
        asset_ids,
        principal.user_id,
        withdraw=withdraw,
    )
