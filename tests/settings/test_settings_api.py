"""getSettings / updateSettings: export, dry run, merge-by-name imports, refusals."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.labels.tables import LabelGroup
from cmpapi.server.resources.workflows.tables import Workflow
from cmpapi.server.webhooks.tables import Webhook
from tests.support.work_requests import KINDS
from tests.support.world import World

EMPTY_FIELDS: dict[str, list[Any]] = {k: [] for k in KINDS}
WORKFLOW = {
    "name": "Review",
    "description": None,
    "is_flexible_workflow": False,
    "is_not_pushed_to_library_by_default": False,
    "is_released_as_asset": False,
    "labels": [],
    "custom_fields": [],
    "default_channels": [],
    "blacklisted_channels": [],
    "steps": [
        {
            "label": "Write",
            "description": None,
            "duration": 1,
            "substeps": [
                {
                    "label": "Draft",
                    "description": None,
                    "actions": [],
                    "is_external": False,
                    "external_system": None,
                }
            ],
        }
    ],
}
HOOK = {
    "name": "DAM sync",
    "description": "assets",
    "callback_url": "https://dam.example.com/h",
    "secret": "s3cret",
    "event_names": ["asset_added"],
}


def document(**kinds: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "labels": [],
        "custom_fields": copy.deepcopy(EMPTY_FIELDS),
        "workflows": [],
        "webhooks": [],
        "apps": [],
        "templates": [],
        "routing_rules": [],
    }
    base.update(kinds)
    return base


def post(client: Any, world: World, body: Any, who: str = "admin", **params: Any) -> Any:
    return client.post("/v3/settings", json=body, params=params, headers=world.auth(who))


def test_dry_run_changes_nothing_and_execute_applies(client, db: Session, world: World) -> None:
    fields = copy.deepcopy(EMPTY_FIELDS)
    fields["dropdown"] = [{"label": "Channel", "choices": ["Web", "Email"]}]
    fields["currency"] = [
        {
            "label": "Budget",
            "decimal_places": 2,
            "currency_code": "EUR",
            "has_thousand_separator": True,
        }
    ]
    body = document(
        labels=[
            {
                "label_type": "Region",
                "has_single_value": True,
                "labels": [{"name": "EMEA", "color": "#FF0000"}],
            }
        ],
        custom_fields=fields,
        workflows=[WORKFLOW],
        webhooks=[HOOK],
        apps=[
            {
                "name": "Connector",
                "description": "d",
                "homepage_url": "https://c.example.com",
                "authorization_callback_urls": ["https://c.example.com/cb"],
                "expose_email": False,
                "env": "production",
            }
        ],
    )
    dry = post(client, world, body)
    assert dry.status_code == 200, dry.text
    assert dry.json()["changeset"]["create"] == {
        "labels": ["Region"],
        "custom_fields": ["Budget", "Channel"],
        "workflows": ["Review"],
        "webhooks": ["DAM sync"],
        "apps": ["Connector"],
        "templates": [],
        "routing_rules": [],
    }
    assert db.scalars(select(Workflow)).all() == [] and db.scalars(select(Webhook)).all() == []
    done = post(client, world, {"resources": body}, execute="true")  # the wrapped form
    assert done.status_code == 200, done.text
    assert done.json()["changeset"] == dry.json()["changeset"]
    exported = client.get("/v3/settings", headers=world.auth()).json()["resources"]
    assert exported["labels"] == body["labels"]
    assert exported["custom_fields"]["dropdown"] == [
        {"label": "Channel", "choices": ["Web", "Email"]}
    ]
    assert exported["custom_fields"]["currency"] == fields["currency"]
    assert [w["name"] for w in exported["workflows"]] == ["Review"]
    assert exported["webhooks"] == [HOOK]
    assert [a["name"] for a in exported["apps"]] == ["Acme App", "Connector"]
    assert exported["templates"] == exported["routing_rules"] == []


def test_merge_by_name(client, db: Session, world: World) -> None:
    post(client, world, document(webhooks=[HOOK], workflows=[WORKFLOW]), execute="true")
    more = {**HOOK, "event_names": ["asset_removed", "asset_added"]}
    r = post(client, world, document(webhooks=[more], workflows=[WORKFLOW]), execute="true")
    assert r.json()["changeset"]["update"]["webhooks"] == ["DAM sync"]
    assert r.json()["changeset"]["create"]["workflows"] == ["Copy of Review"]
    (hook,) = db.scalars(select(Webhook)).all()
    assert sorted(hook.event_names) == ["asset_added", "asset_removed"]
    r = post(
        client, world, document(workflows=[WORKFLOW]), execute="true", overwrite_workflows="true"
    )
    assert r.json()["changeset"]["update"]["workflows"] == ["Review"]
    # Two webhooks of one name: a third is created.
    db.add(
        Webhook(
            org_id=world.org.id,
            name="DAM sync",
            callback_url=HOOK["callback_url"],
            signing_key=hook.signing_key,
            event_names=["asset_added"],
        )
    )
    db.commit()
    r = post(client, world, document(webhooks=[HOOK]), execute="true")
    assert r.json()["changeset"]["create"]["webhooks"] == ["DAM sync"]
    assert len(db.scalars(select(Webhook)).all()) == 3
    # Labels merge: new labels are added, same-name ones get the new colour.
    group = {
        "label_type": "Region",
        "has_single_value": False,
        "labels": [{"name": "EMEA", "color": None}],
    }
    post(client, world, document(labels=[group]), execute="true")
    group["labels"] = [{"name": "emea", "color": "#00FF00"}, {"name": "APAC", "color": None}]
    post(client, world, document(labels=[group]), execute="true")
    (saved,) = db.scalars(select(LabelGroup)).all()
    db.refresh(saved)
    assert [(v.name, v.color) for v in saved.values] == [("EMEA", "#00FF00"), ("APAC", None)]


def test_apps_merge_callback_urls(client, db: Session, world: World) -> None:
    app = {
        "name": "Acme App",
        "description": "",
        "homepage_url": "https://acme.example.com",
        "authorization_callback_urls": ["https://acme.example.com/new"],
        "expose_email": True,
        "env": "production",
    }
    r = post(client, world, document(apps=[app]), execute="true")
    assert r.json()["changeset"]["update"]["apps"] == ["Acme App"]
    (row,) = db.scalars(select(OAuthApp)).all()
    db.refresh(row)
    assert row.redirect_uris == ["https://app.example.com/callback", "https://acme.example.com/new"]


def test_refusals(client, db: Session, world: World) -> None:
    r = post(client, world, document(templates=[{"name": "T"}]), execute="true")
    assert r.status_code == 422
    rule = {"name": "R", "description": "", "rules": [], "watchers": [], "template_name": "T"}
    r = post(client, world, document(routing_rules=[rule]), execute="true")
    assert r.status_code == 422 and "routing_rules.0.template_name" in r.json()["errors"], r.text
    bad_hook = {**HOOK, "event_names": ["not_an_event"]}
    assert post(client, world, document(webhooks=[bad_hook]), execute="true").status_code == 422
    plain = {**HOOK, "callback_url": "http://dam.example.com/h"}
    assert post(client, world, document(webhooks=[plain]), execute="true").status_code == 422
    local = {**HOOK, "callback_url": "http://127.0.0.1:9000/h"}  # not in demo mode here
    r = post(client, world, document(webhooks=[local]), execute="true")
    assert r.status_code == 422
    assert "set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true" in str(r.json()["errors"]), r.text
    missing = document()
    del missing["apps"]
    r = post(client, world, missing)
    assert r.status_code == 422 and "apps" in r.json()["errors"]
    fields = copy.deepcopy(EMPTY_FIELDS)
    fields["string"] = [{"label": "Channel"}]
    fields["dropdown"] = [{"label": "Channel", "choices": ["a"]}]
    r = post(client, world, document(custom_fields=fields), execute="true")
    assert r.status_code == 422
    assert db.scalars(select(Field)).all() == []  # nothing half-written
    assert post(client, world, document(), who="member").status_code == 403
    assert client.get("/v3/settings", headers=world.auth("member")).status_code == 403
    headers = {**world.auth(), "content-type": "application/json"}
    r = client.post("/v3/settings", content=b"{", headers=headers)
    assert r.status_code == 400
