"""The admin API under /ext/v1: webhooks, the delivery log, redelivery, pings."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cmpapi.server.settings import Settings
from tests.support.mixins import ResourceTests
from tests.support.world import World, build_world
from tests.webhooks.conftest import WorkerThread, deliveries, record
from tests.webhooks.receiver import Receiver, Reply, wait_until

FORBIDDEN = {"message": "You do not have the permission to perform this operation"}


def create(client: TestClient, world: World, url: str, **body: Any) -> dict[str, Any]:
    body = {"name": "CMS sync", "callback_url": url, "event_names": ["asset_added"], **body}
    r = client.post("/ext/v1/webhooks", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_get_update_and_delete(client: TestClient, world: World) -> None:
    hook = create(
        client, world, "https://hooks.example.com/cmp?x=1", secret="abc", description="to the CMS"
    )
    assert hook["signing_key"].startswith("whsec_") and hook["secret"] == "abc"
    assert (hook["is_active"], hook["disabled_reason"], hook["failing_since"]) == (True, None, None)
    assert hook["links"]["self"] == f"https://testserver/ext/v1/webhooks/{hook['id']}"
    assert client.get(hook["links"]["self"], headers=world.auth()).json() == hook

    r = client.patch(
        f"/ext/v1/webhooks/{hook['id']}",
        headers=world.auth(),
        json={"event_names": ["asset_removed", "task_added"], "secret": None},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["event_names"], r.json()["secret"]) == (["asset_removed", "task_added"], None)
    assert r.json()["name"] == "CMS sync" and r.json()["signing_key"] == hook["signing_key"]

    r = client.post(
        f"/ext/v1/webhooks/{hook['id']}/disable",
        headers=world.auth(),
        json={"reason": "maintenance"},
    )
    assert (r.json()["is_active"], r.json()["disabled_reason"]) == (False, "maintenance")
    r = client.post(f"/ext/v1/webhooks/{hook['id']}/enable", headers=world.auth())
    assert (r.json()["is_active"], r.json()["disabled_reason"]) == (True, None)

    assert client.delete(f"/ext/v1/webhooks/{hook['id']}", headers=world.auth()).status_code == 204
    r = client.get(f"/ext/v1/webhooks/{hook['id']}", headers=world.auth())
    assert (r.status_code, r.json()) == (404, {"message": "Resource not found"})


HOOK = {"name": "n", "callback_url": "https://hooks.example.com/", "event_names": ["asset_added"]}


class TestWebhooks(ResourceTests):
    list_path = "/ext/v1/webhooks"
    item_path = "/ext/v1/webhooks/{id}"
    create_path = "/ext/v1/webhooks"
    create_status = 201  # /ext is ours: no spec to read the statuses from
    create_data = [
        {
            **HOOK,
            "callback_url": "https://hooks.example.com/cmp?x=1",
            "secret": "abc",
            "description": "to the CMS",
        },
        {**HOOK, "event_names": ["asset_added", "task_added"]},
    ]
    invalid_create = [
        ({**HOOK, **change}, field, 422)
        for change, field in [
            ({"callback_url": "ftp://hooks.example.com/"}, "callback_url"),
            ({"callback_url": "http://hooks.example.com/"}, "callback_url"),
            ({"callback_url": "https://169.254.169.254/latest"}, "callback_url"),
            ({"secret": "x" * 33}, "secret"),
            ({"secret": "a\r\nx-evil: 1"}, "secret"),
            ({"secret": "clé"}, "secret"),
            ({"event_names": ["asset_exploded"]}, "event_names"),
            ({"event_names": []}, "event_names"),
            ({"name": "  "}, "name"),
            ({"name": None}, "name"),
        ]
    ]
    update_path = "/ext/v1/webhooks/{id}"
    update_status = 200
    update_data = [
        {"event_names": ["asset_removed", "task_added"], "secret": "s3cret"},
        {"name": "renamed", "description": "to the DAM", "secret": None},
    ]
    invalid_update = [
        ({"callback_url": None}, "callback_url", 422),
        ({"callback_url": "ftp://hooks.example.com/"}, "callback_url", 422),
        ({"event_names": []}, "event_names", 422),
        ({"name": "  "}, "name", 422),
    ]
    delete_path = "/ext/v1/webhooks/{id}"
    delete_status = 204
    writer = "admin"
    forbidden = ("member", "viewer")

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [
            create(self.client, world, f"https://hooks.example.com/{i}", name=f"h{i}")["id"]
            for i in range(n)
        ]


def test_more_bad_input_never_500(client: TestClient, world: World) -> None:
    r = client.post(
        "/ext/v1/webhooks",
        content=b"{nope",
        headers=world.auth() | {"content-type": "application/json"},
    )
    assert r.status_code == 400 and "message" in r.json()
    hook = create(client, world, "https://hooks.example.com/")
    base = f"/ext/v1/webhooks/{hook['id']}"
    r = client.patch(base, json={"callback_url": None}, headers=world.auth())
    assert r.status_code == 422 and "callback_url" in r.json()["errors"]
    r = client.get(f"{base}/deliveries?status=lost", headers=world.auth())
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = client.get(f"{base}/deliveries?page_size=0&colour=red", headers=world.auth())
    assert r.status_code == 400
    r = client.post(f"{base}/redeliver-failed", json={"since": "yesterday"}, headers=world.auth())
    assert r.status_code == 422
    r = client.post(
        f"{base}/redeliver-failed", json={"since": "2026-01-01T00:00:00"}, headers=world.auth()
    )
    assert r.status_code == 422  # a time zone is required
    r = client.post(
        "/ext/v1/webhooks",
        headers=world.auth(),
        json={"name": "n", "callback_url": "https://localhost/x", "event_names": ["asset_added"]},
    )
    assert r.status_code == 201  # private targets are allowed in these tests


def test_names_resolving_to_private_addresses_are_refused_by_the_api(
    client: TestClient, world: World, app: Any
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"webhook_allow_private_targets": False, "webhook_allow_http_loopback": None}
    )
    assert not app.state.settings.demo
    refusals = {
        "https://localhost/x": "loopback address; set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true",
        "https://127.0.0.1:9000/x": "loopback address; set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK",
        "http://127.0.0.1:9000/x": "; set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true",
        "https://10.1.2.3/x": "private address; set CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true",
    }
    for url, reason in refusals.items():
        body = {"name": "n", "callback_url": url, "event_names": ["asset_added"]}
        r = client.post("/ext/v1/webhooks", headers=world.auth(), json=body)
        assert r.status_code == 422, url
        assert r.json()["message"] == "Invalid webhook"
        assert reason in r.json()["errors"]["callback_url"], r.json()


def test_only_admins(client: TestClient, world: World) -> None:
    hook = create(client, world, "https://hooks.example.com/")
    base = f"/ext/v1/webhooks/{hook['id']}"
    new = {"name": "n", "callback_url": "https://h.example.com/", "event_names": ["task_added"]}
    calls = [
        ("get", "/ext/v1/webhooks", None),
        ("post", "/ext/v1/webhooks", new),
        ("get", base, None),
        ("patch", base, {"name": "x"}),
        ("delete", base, None),
        ("post", f"{base}/disable", {}),
        ("post", f"{base}/enable", None),
        ("get", f"{base}/deliveries", None),
        ("get", f"{base}/attempts", None),
        ("post", f"{base}/ping", None),
        ("get", "/ext/v1/events/e1/deliveries", None),
        ("post", f"{base}/redeliver-failed", {"since": "2026-01-01T00:00:00Z"}),
    ]
    for who in ("member", "viewer"):
        for method, path, body in calls:
            r = client.request(method, path, json=body, headers=world.auth(who))
            assert (r.status_code, r.json()) == (403, FORBIDDEN), (who, method, path)
    assert client.get("/ext/v1/webhooks").json() == {"message": "Unauthorized"}


def test_other_organizations_webhooks_are_invisible(
    client: TestClient, db: Session, world: World
) -> None:
    other = build_world(db, org_name="Other", prefix="o-")
    hook = create(client, other, "https://hooks.example.com/")
    r = client.get(f"/ext/v1/webhooks/{hook['id']}", headers=world.auth())
    assert r.status_code == 404
    assert client.get("/ext/v1/webhooks", headers=world.auth()).json()["data"] == []


def test_list_is_paginated(client: TestClient, world: World) -> None:
    ids = [
        create(client, world, f"https://hooks.example.com/{i}", name=f"h{i}")["id"]
        for i in range(3)
    ]
    first = client.get("/ext/v1/webhooks?page_size=2", headers=world.auth()).json()
    assert [h["id"] for h in first["data"]] == ids[:2]
    assert first["pagination"]["previous"] is None
    second = client.get(first["pagination"]["next"], headers=world.auth()).json()
    assert [h["id"] for h in second["data"]] == ids[2:]
    assert second["pagination"]["next"] is None


def test_delivery_log_redelivery_and_ping(
    client: TestClient,
    world: World,
    db: Session,
    settings: Settings,
    engine: Engine,
    receiver: Receiver,
) -> None:
    receiver.always("/hook", Reply(500, body=b"nope"))
    hook = create(client, world, receiver.url(), event_names=["asset_added", "asset_removed"])
    base = f"/ext/v1/webhooks/{hook['id']}"
    [added] = record(db, world.org.id)
    [removed] = record(db, world.org.id, name="asset_removed")
    with WorkerThread(settings):
        wait_until(lambda: [d.status for d in deliveries(engine)] == ["failed", "failed"])
        log = client.get(f"{base}/deliveries", headers=world.auth()).json()
        assert [d["status"] for d in log["data"]] == ["failed", "failed"]
        assert {d["last_status_code"] for d in log["data"]} == {500}
        only = client.get(
            f"{base}/deliveries?event_name=asset_removed&status=failed", headers=world.auth()
        ).json()["data"]
        assert [d["event_id"] for d in only] == [removed]
        later = client.get(f"{base}/deliveries?since=2999-01-01T00:00:00Z", headers=world.auth())
        assert later.json()["data"] == []
        by_event = client.get(f"/ext/v1/events/{added}/deliveries", headers=world.auth()).json()
        assert [d["webhook_id"] for d in by_event["data"]] == [hook["id"]]

        tries = client.get(f"{base}/attempts?page_size=100", headers=world.auth()).json()["data"]
        assert len(tries) == 8 and all(t["status_code"] == 500 for t in tries)
        assert all(t["response_excerpt"] == "nope" and t["latency_ms"] >= 0 for t in tries)
        one = client.get(by_event["data"][0]["links"]["self"], headers=world.auth()).json()
        assert one["body"]["event_name"] == "asset_added"
        assert [t["attempt"] for t in one["attempt_log"]] == [4, 3, 2, 1]

        receiver.always("/hook", Reply(200))
        r = client.post(one["links"]["redeliver"], headers=world.auth())
        assert (r.status_code, r.json()["status"]) == (202, "pending")
        wait_until(lambda: sorted(d.status for d in deliveries(engine)) == ["failed", "succeeded"])
        r = client.post(
            f"{base}/redeliver-failed", json={"since": "2000-01-01T00:00:00Z"}, headers=world.auth()
        )
        assert r.json() == {"redelivered": 1}
        wait_until(lambda: [d.status for d in deliveries(engine)] == ["succeeded"] * 2)

        r = client.post(f"{base}/ping", headers=world.auth())
        assert (r.status_code, r.json()["event_name"]) == (202, "ping")
        wait_until(lambda: len(deliveries(engine, status="succeeded")) == 3)
    assert receiver.requests()[-1].body.startswith(b'{"event_name":"ping"')


def test_redeliver_and_ping_need_an_active_webhook(client: TestClient, world: World) -> None:
    hook = create(client, world, "https://hooks.example.com/")
    base = f"/ext/v1/webhooks/{hook['id']}"
    client.post(f"{base}/disable", headers=world.auth())
    r = client.post(f"{base}/ping", headers=world.auth())
    assert r.status_code == 409 and r.json()["message"].startswith("The webhook is disabled")
    r = client.post(f"{base}/deliveries/nope/redeliver", headers=world.auth())
    assert r.status_code == 404
