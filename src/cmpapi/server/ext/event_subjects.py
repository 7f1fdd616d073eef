"""The objects a triggered sample event (``event_samples.py``) is about: the
organization's own when it has some - its most recently changed library asset, task,
task asset, sub-step, external sub-step, campaign, work request, calendar event, custom
field, publishing channel - and stand-ins with sample ids otherwise.

Sample ids are 32 hex digits, all zeros but the last few (``SAMPLE_IDS``): never an id
cmpapi makes (those are random), so a receiver can tell a sample from a real object, and
a lookup of one answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.fields.tables import Field, FieldValue
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.resources.publishing.tables import PublishingChannel
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.server.resources.tasks.tables import Task, TaskSubStep
from cmpapi.server.resources.work_requests.tables import WorkRequest

KINDS = (
    "asset",
    "task",
    "task_asset",
    "step",
    "sub_step",
    "external_step",
    "external_sub_step",
    "comment",
    "campaign",
    "work_request",
    "template",
    "event",
    "field",
    "channel",
    "publishing_event",
    "preview",
    "content",
    "fields_version",
    "content_type",
    "content_type_version",
    "user",
)
SAMPLE_IDS = {kind: f"{n:032x}" for n, kind in enumerate(KINDS, start=1)}
SAMPLE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Subjects:
    """What the samples name; ``real`` lists the kinds that are the organization's."""

    org_id: str
    asset: Any  # id, type
    task_id: str
    task_asset: TaskAsset
    sub_step: TaskSubStep
    external: TaskSubStep
    campaign_id: str
    work_request: WorkRequest
    event_id: str
    custom_field: tuple[str, str]  # task id, id of a custom field the task has a value of
    channel: PublishingChannel
    real: list[str] = field(default_factory=list)


def _latest(session: Session, query: Any, kind: str, real: list[str]) -> Any:
    found = session.execute(query.limit(1)).first()
    if found is not None:
        real.append(kind)
    return found


def find_subjects(session: Session, org_id: str) -> Subjects:
    """The organization's latest objects of each kind, or sample stand-ins."""
    real: list[str] = []
    asset = _latest(
        session,
        select(Asset.id, Asset.type)
        .where(Asset.org_id == org_id)
        .order_by(Asset.modified_at.desc(), Asset.id.desc()),
        "asset",
        real,
    )
    task = _latest(
        session,
        select(Task.id)
        .where(Task.org_id == org_id)
        .order_by(Task.modified_at.desc(), Task.id.desc()),
        "task",
        real,
    )
    return Subjects(
        org_id=org_id,
        asset=asset or (SAMPLE_IDS["asset"], "image"),
        task_id=task.id if task else SAMPLE_IDS["task"],
        task_asset=_task_asset(session, org_id, real),
        sub_step=_sub_step(session, org_id, False, real),
        external=_sub_step(session, org_id, True, real),
        campaign_id=_id_of(session, Campaign, org_id, "campaign", real),
        work_request=_work_request(session, org_id, real),
        event_id=_id_of(session, CalendarEvent, org_id, "event", real),
        custom_field=_task_field(session, org_id, task.id if task else SAMPLE_IDS["task"], real),
        channel=_channel(session, org_id, real),
        real=real,
    )


def _id_of(session: Session, table: Any, org_id: str, kind: str, real: list[str]) -> str:
    query = select(table.id).where(table.org_id == org_id)
    found = _latest(session, query.order_by(table.created_at.desc(), table.id.desc()), kind, real)
    return str(found.id) if found else SAMPLE_IDS[kind]


def _task_field(session: Session, org_id: str, task_id: str, real: list[str]) -> tuple[str, str]:
    """A task's custom field (not a label: those are task metadata) and the task."""
    query = (
        select(FieldValue.owner_id, FieldValue.field_id)
        .join(Field, Field.id == FieldValue.field_id)
        .where(FieldValue.org_id == org_id, FieldValue.owner_type == "task", Field.type != "label")
        .order_by(FieldValue.modified_at.desc(), FieldValue.field_id.desc())
    )
    found = _latest(session, query, "field", real)
    return (found.owner_id, found.field_id) if found else (task_id, SAMPLE_IDS["field"])


def _task_asset(session: Session, org_id: str, real: list[str]) -> TaskAsset:
    query = select(TaskAsset).where(TaskAsset.org_id == org_id)
    found = _latest(session, query.order_by(TaskAsset.created_at.desc()), "task_asset", real)
    if found is not None:
        asset: TaskAsset = found[0]
        return asset
    return TaskAsset(
        id=SAMPLE_IDS["task_asset"],
        org_id=org_id,
        task_id=SAMPLE_IDS["task"],
        type="image",
        title="Sample image",
        mime_type="image/jpeg",
        file_extension="jpg",
        file_size=48213,
        width=1200,
        height=800,
        labels=[],
        created_at=SAMPLE_TIME,
        modified_at=SAMPLE_TIME,
    )


def _sub_step(session: Session, org_id: str, external: bool, real: list[str]) -> TaskSubStep:
    kind = "external_sub_step" if external else "sub_step"
    query = select(TaskSubStep).where(TaskSubStep.org_id == org_id)
    if external:
        query = query.where(TaskSubStep.is_external.is_(True))
    order = (TaskSubStep.modified_at.desc(), TaskSubStep.id.desc())
    found = _latest(session, query.order_by(*order), kind, real)
    if found is not None:
        sub_step: TaskSubStep = found[0]
        return sub_step
    step = "external_step" if external else "step"
    return TaskSubStep(
        id=SAMPLE_IDS[kind],
        org_id=org_id,
        task_id=SAMPLE_IDS["task"],
        step_id=SAMPLE_IDS[step],
        is_external=external,
        external_system="Jira" if external else None,
    )


def _work_request(session: Session, org_id: str, real: list[str]) -> WorkRequest:
    query = select(WorkRequest.id, WorkRequest.template_id).where(WorkRequest.org_id == org_id)
    order = (WorkRequest.created_at.desc(), WorkRequest.id.desc())
    found = _latest(session, query.order_by(*order), "work_request", real)
    if found is not None:
        return WorkRequest(id=found.id, org_id=org_id, template_id=found.template_id)
    ids = SAMPLE_IDS
    return WorkRequest(id=ids["work_request"], org_id=org_id, template_id=ids["template"])


def _channel(session: Session, org_id: str, real: list[str]) -> PublishingChannel:
    query = select(PublishingChannel).where(PublishingChannel.org_id == org_id)
    order = (PublishingChannel.created_at.desc(), PublishingChannel.id.desc())
    found = _latest(session, query.order_by(*order), "channel", real)
    if found is not None:
        channel: PublishingChannel = found[0]
        return channel
    return PublishingChannel(id=SAMPLE_IDS["channel"], org_id=org_id, name="Website")
