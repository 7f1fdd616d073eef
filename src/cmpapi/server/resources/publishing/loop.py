"""The publishing loop: a task's assets pushed to a webhook channel (``asset_published``),
pushed again (``asset_synced``) or withdrawn (``asset_unpublished``).

Every push is a publishing event: the assets it carries, and what it did to each
(``PublishingEventAsset.action``). An asset is live on a channel when its newest row
there is a publish or a sync. The integrator answers through the publishing-metadata API.

When: a task publishes on the channels it has publishing intents for, and on its
workflow's default webhook channels (Settings ``default_channels``, by name; not on its
``blacklisted_channels``), once its step named "Publish" completes, or, if its workflow has
no such step, once the task completes (``publish_step_done``). Publishing, re-syncing and
withdrawing on demand is the ``/ext/v1`` and CLI entry point (``service.push_task``).

Functions flush and never commit: the caller commits with its change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.publishing.payloads import record_publish_event
from cmpapi.server.resources.publishing.tables import (
    PUBLISHED,
    SYNCED,
    UNPUBLISHED,
    WEBHOOK,
    PublishingChannel,
    PublishingEvent,
    PublishingEventAsset,
    precise_now,
)
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.server.resources.tasks.engine import Flow
from cmpapi.server.resources.tasks.metadata_tables import TaskPublishingIntent
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.resources.workflows.tables import Workflow

PUBLISH_STEP = "publish"  # the step title (case-insensitive) whose completion publishes


@dataclass(frozen=True, slots=True)
class Pushed:
    """A publishing event just made: its rows, and the task assets per action."""

    event: PublishingEvent
    assets: list[PublishingEventAsset]
    by_action: dict[str, list[TaskAsset]] = field(default_factory=dict)


def publish_step_done(flow: Flow) -> bool:
    """Whether the task has reached its publishing moment: its "Publish" step is completed,
    or, in a workflow without one, the task is."""
    step = next((s for s in flow.steps if s.title.strip().casefold() == PUBLISH_STEP), None)
    return step.is_completed if step is not None else flow.task.is_completed


def task_assets(
    session: Session, task: Task, asset_ids: Sequence[str] | None, field_name: str = "asset_ids"
) -> list[TaskAsset]:
    """The task's assets in the order they were added, or those of ``asset_ids`` (404
    naming each id that is not an asset of the task)."""
    rows = session.scalars(
        select(TaskAsset)
        .where(TaskAsset.org_id == task.org_id, TaskAsset.task_id == task.id)
        .order_by(TaskAsset.created_at, TaskAsset.id)
    ).all()
    if asset_ids is None:
        return list(rows)
    by_id = {a.id: a for a in rows}
    missing = {
        f"{field_name}.{n}": "Not an asset of the task"
        for n, id_ in enumerate(asset_ids)
        if id_ not in by_id
    }
    if missing:
        raise NotFound("Task asset not found", missing)
    return [by_id[id_] for id_ in dict.fromkeys(asset_ids)]


def live_on(session: Session, channel_id: str, asset_ids: Sequence[str]) -> set[str]:
    """Which of the assets are live on the channel (their newest push there was not a
    withdrawal)."""
    rows = session.execute(
        select(PublishingEventAsset.asset_id, PublishingEventAsset.action)
        .where(
            PublishingEventAsset.channel_id == channel_id,
            PublishingEventAsset.asset_id.in_(list(asset_ids)),
        )
        .order_by(PublishingEventAsset.created_at)
    ).all()
    newest: dict[str, str] = {}
    for asset_id, action in rows:  # oldest first: the newest wins
        newest[asset_id] = action
    return {asset_id for asset_id, action in newest.items() if action != UNPUBLISHED}


def _push(
    session: Session,
    links: Links,
    channel: PublishingChannel,
    task: Task,
    by_action: dict[str, list[TaskAsset]],
    user_id: str | None,
    event_id: str | None = None,
) -> Pushed:
    now = precise_now()
    event = PublishingEvent(
        id=event_id or new_id(),
        org_id=task.org_id,
        channel_id=channel.id,
        task_id=task.id,
        created_by=user_id,
        created_at=now,
    )
    session.add(event)
    session.flush()
    rows = [
        PublishingEventAsset(
            event_id=event.id,
            org_id=task.org_id,
            asset_id=asset.id,
            asset_type=asset.type,
            task_id=task.id,
            channel_id=channel.id,
            action=action,
            position=n,
            created_at=now,
        )
        for n, (action, asset) in enumerate(
            (action, asset) for action, assets in by_action.items() for asset in assets
        )
    ]
    session.add_all(rows)
    session.flush()
    for action, assets in by_action.items():
        if assets:
            record_publish_event(session, links, action, channel, event, assets)
    return Pushed(event, rows, by_action)


def publish(
    session: Session,
    links: Links,
    channel: PublishingChannel,
    task: Task,
    assets: Sequence[TaskAsset],
    user_id: str | None,
    event_id: str | None = None,
) -> Pushed:
    """Push ``assets`` to the channel: those not live there are published
    (``asset_published``), the live ones re-synced (``asset_synced``). ``event_id``: the
    new event's id (the demo seed's are stable)."""
    if not assets:
        raise Invalid("Nothing to publish: the task has no assets", {"task_id": "No assets"})
    live = live_on(session, channel.id, [a.id for a in assets])
    by_action = {
        PUBLISHED: [a for a in assets if a.id not in live],
        SYNCED: [a for a in assets if a.id in live],
    }
    return _push(session, links, channel, task, by_action, user_id, event_id)


def withdraw(
    session: Session,
    links: Links,
    channel: PublishingChannel,
    task: Task,
    assets: Sequence[TaskAsset],
    user_id: str | None,
    *,
    chosen: bool,
) -> Pushed:
    """Withdraw assets from the channel (``asset_unpublished``). ``chosen``: ``assets``
    were named by the caller, and each must be live there (422 naming it); otherwise the
    live ones among them are withdrawn (422 when none is)."""
    live = live_on(session, channel.id, [a.id for a in assets])
    if chosen:
        dead = {
            f"asset_ids.{n}": "Not published on this channel"
            for n, a in enumerate(assets)
            if a.id not in live
        }
        if dead:
            raise Invalid("Not published on this channel", dead)
    withdrawn = [a for a in assets if a.id in live]
    if not withdrawn:
        raise Invalid(
            "Nothing to withdraw: no asset of the task is published on this channel",
            {"task_id": "Nothing published"},
        )
    return _push(session, links, channel, task, {UNPUBLISHED: withdrawn}, user_id)


def workflow_channels(session: Session, task: Task) -> tuple[set[str], set[str]]:
    """The names (case-folded) of the webhook channels the task's workflow publishes on by
    default (Settings ``default_channels``) and of those it disallows
    (``blacklisted_channels``)."""
    extra = session.scalar(select(Workflow.extra).where(Workflow.id == task.workflow_id)) or {}

    def names(key: str) -> set[str]:
        return {
            str(c.get("display_name", "")).strip().casefold()
            for c in extra.get(key) or []
            if isinstance(c, dict) and str(c.get("type", "")).casefold() == WEBHOOK
        }

    return names("default_channels"), names("blacklisted_channels")


def _targets(session: Session, task: Task) -> list[PublishingChannel]:
    """The enabled channels the task publishes on and has not published on yet: those it
    has publishing intents for, in the order asked, then its workflow's default ones."""
    defaults, barred = workflow_channels(session, task)
    intended = list(
        session.scalars(
            select(TaskPublishingIntent.channel_id)
            .where(TaskPublishingIntent.task_id == task.id)
            .order_by(TaskPublishingIntent.created_at, TaskPublishingIntent.id)
        )
    )
    rows = session.scalars(
        select(PublishingChannel).where(
            PublishingChannel.org_id == task.org_id,
            PublishingChannel.disabled.is_(False),
            or_(
                PublishingChannel.id.in_(intended), func.lower(PublishingChannel.name).in_(defaults)
            ),
            ~exists().where(
                PublishingEvent.task_id == task.id,
                PublishingEvent.channel_id == PublishingChannel.id,
            ),
        )
    ).all()
    order = {channel_id: n for n, channel_id in enumerate(intended)}
    chosen = [c for c in rows if c.name.casefold() not in barred]
    return sorted(chosen, key=lambda c: (order.get(c.id, len(order)), c.name.casefold()))


def publish_intended(
    session: Session, links: Links, task: Task, user_id: str | None
) -> list[Pushed]:
    """Publish the task's assets on each channel of ``_targets`` (the loop's trigger; a
    task without assets publishes nothing)."""
    assets = task_assets(session, task, None)
    if not assets:
        return []
    return [publish(session, links, c, task, assets, user_id) for c in _targets(session, task)]
