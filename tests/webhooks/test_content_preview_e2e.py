"""The content preview handshake end to end, over real HTTP: cmpapi on a live server, a job
worker delivering webhooks, and a rendering integration behind a real receiver. The
integration learns about the preview only from the delivered ``content_preview_requested``
and follows the payload's own links to acknowledge and complete it; the preview's state
then shows the keyed previews it delivered."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.orm import Session
from standardwebhooks import Webhook as Verifier

from cmpapi.server.settings import Settings
from tests.support.sc_tasks import LOCALES, PAGE_FIELDS, page_body
from tests.support.structured_content import TYPES, type_body
from tests.support.tasks import app_token
from tests.support.world import World
from tests.webhooks.conftest import WorkerThread, add_webhook
from tests.webhooks.receiver import Receiver


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def test_an_integration_renders_a_preview(
    http: httpx.Client, db: Session, world: World, wh_settings: Settings, receiver: Receiver
) -> None:
    hook = add_webhook(
        db,
        world.org.id,
        receiver.url("/previews"),
        name="renderer",
        event_names=["content_preview_requested"],
        secret="s3cret",
    )
    db.commit()
    admin, renderer = world.auth(), app_token(db, world, "Renderer")
    body = type_body(world, "Landing page", field_definitions=PAGE_FIELDS, expected_locales=LOCALES)
    type_id = ok(http.post(TYPES, json=body, headers=admin), 201)["content_type_guid"]
    task = ok(http.post("/v3/tasks", json={"title": "Launch"}, headers=admin), 201)["id"]
    content = ok(
        http.post(f"/v3/tasks/{task}/structured-contents", json=page_body(type_id), headers=admin),
        201,
    )
    cid = content["content_guid"]
    asked = ok(
        http.post(f"/ext/v1/tasks/{task}/structured-contents/{cid}/previews", headers=admin), 201
    )

    with WorkerThread(wh_settings):
        (request,) = receiver.wait_for(1, "/previews", timeout=30)
    assert request.headers["callback-secret"] == "s3cret"
    Verifier(hook.signing_key).verify(request.body, request.headers)
    delivered = json.loads(request.body)
    assert delivered["event_name"] == "content_preview_requested"
    data = delivered["data"]
    assert data["preview_id"] == asked["id"]
    (item,) = data["assets"]["structured_contents"]
    assert item["content_body"]["content_type"]["name"] == "Landing page"  # it can render it
    content_hash = item["content_body"]["fields_version"]["content_hash"]
    assert content_hash == content["latest_fields_version"]["content_hash"]

    # The integration follows the payload's links (absolute URLs of this server).
    ack = {"acknowledged_by": "renderer-bot", "content_hash": content_hash}
    assert ok(http.post(data["links"]["acknowledge"], json=ack, headers=renderer)) == {}
    r = http.post(data["links"]["acknowledge"], json=ack, headers=renderer)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "preview_id"]
    url = f"https://render.example/previews/{data['preview_id']}"
    done = {
        "keyed_previews": {"desktop": url, "mobile": {"completed": url + "?m", "name": "Mobile"}}
    }
    assert ok(http.post(data["links"]["complete"], json=done, headers=renderer)) == {}

    state = ok(http.get(f"/ext/v1/previews/{asked['id']}", headers=admin))
    assert (state["status"], state["acknowledged_by"]) == ("completed", "renderer-bot")
    assert {k: v["url"] for k, v in state["keyed_previews"].items()} == {
        "desktop": url,
        "mobile": url + "?m",
    }
    assert state["keyed_previews"]["mobile"]["name"] == "Mobile"
