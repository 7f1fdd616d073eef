"""Webhook channels configured through the Settings import: a workflow's
``default_channels`` of type ``webhook`` are channels of the organization, its tasks
publish on them by default, and its ``blacklisted_channels`` are refused."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.publishing.tables import PublishingChannel
from cmpapi.server.resources.workflows.tables import Workflow
from tests.settings.test_settings_api import WORKFLOW, document, post
from tests.support.publishing import add_channel, add_image
from tests.support.tasks import create_task, sub_step_url
from tests.support.world import World


def channels(db: Session) -> list[str]:
    db.expire_all()
    return sorted(c.name for c in db.scalars(select(PublishingChannel)))


def flow(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(WORKFLOW), **changes}


def test_settings_import_creates_the_default_webhook_channels(
    client, db: Session, world: World
) -> None:
    add_channel(db, world, "Blog")
    workflow = flow(
        default_channels=[
            {"display_name": "blog", "type": "webhook"},
            {"display_name": "Docs site", "type": "Webhook"},
            {"display_name": "Tweets", "type": "twitter"},
        ],
        blacklisted_channels=[{"display_name": "Intranet", "type": "webhook"}],
    )
    dry = post(client, world, document(workflows=[workflow]))
    assert dry.status_code == 200, dry.text
    assert channels(db) == ["Blog"]
    done = post(client, world, document(workflows=[workflow]), execute="true")
    assert done.status_code == 200, done.text
    assert channels(db) == ["Blog", "Docs site"]  # other types are not served
    exported = client.get("/v3/settings", headers=world.auth()).json()["resources"]
    assert exported["workflows"][0]["default_channels"] == workflow["default_channels"]


def test_tasks_publish_on_their_workflow_default_channels(
    client, db: Session, world: World
) -> None:
    intranet = add_channel(db, world, "Intranet")
    workflow = flow(
        default_channels=[{"display_name": "Docs site", "type": "webhook"}],
        blacklisted_channels=[{"display_name": "intranet", "type": "webhook"}],
    )
    assert post(client, world, document(workflows=[workflow]), execute="true").status_code == 200
    workflow_id = db.scalars(select(Workflow.id)).one()
    task = create_task(client, world, workflow_id)
    add_image(client, world, task["id"])
    r = client.post(
        f"/v3/tasks/{task['id']}/publishing-intents",
        json={"channel_id": intranet},
        headers=world.auth("member"),
    )
    assert r.status_code == 422
    assert r.json()["errors"] == {"channel_id": "Disallowed by the workflow"}
    r = client.post(
        f"/ext/v1/publishing-channels/{intranet}/publish",
        json={"task_id": task["id"]},
        headers=world.auth(),
    )
    assert r.status_code == 422
    r = client.patch(sub_step_url(task, 0, 0), json={"is_completed": True}, headers=world.auth())
    assert r.status_code == 200, r.text  # the task completes: no Publish step
    db.expire_all()
    (event,) = db.scalars(select(OutboxEvent).where(OutboxEvent.event_name == "asset_published"))
    assert event.data["publishing_channel"]["name"] == "Docs site"
