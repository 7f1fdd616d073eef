"""Real deliveries from a real cmpapi server to the SDK's ``webhook_app`` served by uvicorn
on loopback: a ``cmpapi serve --demo`` process (webhooks registered through /ext/v1, changes
made through the API), and every one of the 43 events played through the API of an
in-process server whose job worker delivers them."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session

from cmpapi.cli.server_commands import DEMO_WEBHOOKS
from cmpapi.client.events import (
    EVENT_NAMES,
    EVENT_TYPES,
    AssetAddedEvent,
    PingEvent,
    TaskAddedEvent,
    TaskMetadataModifiedEvent,
)
from cmpapi.client.webhooks import WebhookApp, webhook_app
from cmpapi.server.settings import Settings
from tests.support.servers import demo_process, free_port
from tests.support.uploads import jpeg
from tests.support.world import World
from tests.webhooks.conftest import FAST, WorkerThread, add_webhook
from tests.webhooks.receiver import wait_until
from tests.webhooks.test_all_events import BACKGROUND, STEPS, Play, recorded


class Inbox:
    """The handler: every event it was given, by thread-safe append."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def names(self) -> list[str]:
        with self._lock:
            return [e.event_name for e in self.events]


@contextmanager
def receiving(port: int, app: WebhookApp) -> Iterator[None]:
    """``app`` on uvicorn at 127.0.0.1:``port`` for the block (the port is chosen first: the
    webhook is registered with its URL before the app can have its signing key)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), 10, "receiver started")
    assert server.started, "the receiver did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- a `cmpapi serve --demo` process -----------------------------------------------------------


def _banner(proc: Any) -> dict[str, str]:
    """The ``name: value`` lines of the demo's banner (it ends with the webhook line)."""
    fields: dict[str, str] = {}
    line = ""
    while line != DEMO_WEBHOOKS:
        line = proc.stdout.readline().rstrip("\n")
        if m := re.match(r"([a-z_]+): (.*)", line):
            fields[m.group(1)] = m.group(2)
    return fields


def _api(base: str, fields: dict[str, str]) -> httpx.Client:
    """A client with the demo app's client_credentials token."""
    token = httpx.post(
        f"{base}/o/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fields["client_id"],
            "client_secret": fields["client_secret"],
        },
    ).json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _retrying_503(send: Callable[[], httpx.Response]) -> httpx.Response:
    """``send()``, again after ``Retry-After`` while the server answers 503: its "busy,
    please retry" (nothing was written). Seen twice on the first createAsset of a freshly
    started demo on an overloaded box (issue note); this test is about deliveries."""
    for _ in range(3):
        response = send()
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers.get("retry-after", "2")))
    return send()


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


def _register(api: httpx.Client, url: str, secret: str, events: list[str]) -> dict[str, Any]:
    hook = {"name": secret, "callback_url": url, "event_names": events, "secret": secret}
    return dict(_ok(api.post("/ext/v1/webhooks", json=hook), 201))


def test_a_demo_server_delivers_typed_verified_events(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/cmp"
    with demo_process(tmp_path / "data") as (proc, base):
        api = _api(base, _banner(proc))
        names = ["task_added", "task_metadata_modified", "asset_added"]
        hook = _register(api, url, "sdk-secret", names)
        # Another webhook to the same receiver, with a secret the receiver does not hold.
        stranger = _register(api, url, "not-the-receivers", ["task_added"])
        app = webhook_app(inbox, secret="sdk-secret", signing_key=hook["signing_key"])
        with receiving(port, app):
            task = _ok(api.post("/v3/tasks", json={"title": "Webhook SDK"}), 201)
            _ok(api.patch(f"/v3/tasks/{task['id']}", json={"title": "Webhook SDK, v2"}))
            form = _ok(api.get("/v3/upload-url"))
            files = {"file": ("photo.jpg", jpeg())}
            _ok(httpx.post(form["url"], data=form["upload_meta_fields"], files=files), 204)
            upload = {"key": form["upload_meta_fields"]["key"], "title": "Photo"}
            asset = _ok(_retrying_503(lambda: api.post("/v3/assets", json=upload)), 201)
            _ok(api.post(f"/ext/v1/webhooks/{hook['id']}/ping"), 202)

            wait_until(lambda: len(inbox.names()) >= 4, 60, "4 events")
            attempts = f"/ext/v1/webhooks/{stranger['id']}/attempts"
            wait_until(lambda: _ok(api.get(attempts))["data"], 60, "the stranger's attempt")
            refused = _ok(api.get(attempts))["data"][0]
        deliveries = _ok(api.get(f"/ext/v1/webhooks/{hook['id']}/deliveries"))["data"]
        api.close()
    by_type = {type(e): e for e in inbox.events}
    assert sorted(inbox.names()) == sorted([*names, "ping"])
    assert by_type[TaskAddedEvent].data.task.id == task["id"]
    assert by_type[TaskMetadataModifiedEvent].data.task.links.self.endswith(
        f"/v3/tasks/{task['id']}"
    )
    added = by_type[AssetAddedEvent].data.asset
    assert (added.id, added.type) == (asset["id"], "image")
    assert by_type[PingEvent].data.webhook.id == hook["id"]
    # Each event knows the delivery that carried it (its webhook-id header).
    assert {e.delivery_id for e in inbox.events} == {d["id"] for d in deliveries}
    assert {d["status"] for d in deliveries} == {"succeeded"}
    assert refused["status_code"] == 401
    assert "Callback-Secret header does not match" in refused["response_excerpt"]


# -- all 43 events, played through an in-process server ----------------------------------------


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: what is tested is the receiving side, not the server's storage."""
    (tmp_path / "cmpapi.db").write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{tmp_path / 'cmpapi.db'}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Loopback receivers over http allowed; the worker's polls compressed."""
    return Settings(data_dir=tmp_path, database_url=database_url, **FAST)  # type: ignore[arg-type]


def test_every_event_arrives_typed(
    client: Any, db: Session, world: World, settings: Settings
) -> None:
    inbox = Inbox()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    hook = add_webhook(db, world.org.id, url, event_names=sorted(EVENT_NAMES), secret="s3cret")
    play = Play(client, db, world)
    for step, _ in STEPS:
        step(play)
    app = webhook_app(inbox, secret="s3cret", signing_key=hook.signing_key)
    with receiving(port, app), WorkerThread(settings):
        wait_until(
            lambda: {e.event_name for e in recorded(db, world.org.id)} >= BACKGROUND,
            60,
            "renditions",
        )
        events = recorded(db, world.org.id)
        wait_until(lambda: len(inbox.names()) >= len(events), 60, f"{len(events)} deliveries")
    assert set(inbox.names()) == EVENT_NAMES
    for event in inbox.events:
        assert type(event) is EVENT_TYPES[event.event_name]
    # Nothing lost or changed on the way: each typed event dumps back to what was sent.
    got = [
        (e.event_name, e.model_dump(mode="json", exclude_unset=True)["data"]) for e in inbox.events
    ]
    assert sorted(map(_text, got)) == sorted(_text((e.event_name, e.data)) for e in events)


def _text(event: tuple[str, Any]) -> str:
    return json.dumps(event, sort_keys=True)
