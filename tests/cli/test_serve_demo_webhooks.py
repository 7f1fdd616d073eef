"""The demo's webhook promise: `cmpapi serve --demo` (nothing else set) accepts a webhook on
the developer's own machine, by the API and by the settings import, and delivers signed
events to it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook as Verifier

from cmpapi.cli.server_commands import DEMO_WEBHOOKS
from tests.contract.spec import check_httpx_response
from tests.support.servers import demo_process
from tests.webhooks.receiver import Receiver


def _banner(proc: subprocess.Popen[str]) -> list[str]:
    """The banner's lines, up to the webhook line the demo prints last."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline().rstrip("\n")]
    while lines[-1] != DEMO_WEBHOOKS:
        lines.append(proc.stdout.readline().rstrip("\n"))
    return lines


def _verified(received: list[object], signing_key: str) -> list[dict[str, object]]:
    """The payloads of ``received`` requests, each one's Standard Webhooks signature
    checked (``verify`` raises on a bad one)."""
    verifier = Verifier(signing_key)
    return [verifier.verify(r.body, r.headers) for r in received]  # type: ignore[attr-defined]


def test_demo_delivers_to_a_loopback_receiver(tmp_path: Path) -> None:
    with (
        Receiver() as receiver,
        demo_process(tmp_path / "data") as (proc, base),
        # The API's responses are checked against the spec (the ext ones have none).
        httpx.Client(base_url=base, event_hooks={"response": [check_httpx_response]}) as api,
    ):
        banner = _banner(proc)
        fields = dict(m.groups() for line in banner if (m := re.match(r"([a-z_]+): (.*)", line)))
        token = api.post(
            "/o/oauth2/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": fields["client_id"],
                "client_secret": fields["client_secret"],
            },
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"

        # By the API: plain http to 127.0.0.1, refused outside demo mode.
        hook = {
            "name": "Local",
            "callback_url": receiver.url("/hook"),
            "event_names": ["task_added"],
        }
        r = api.post("/ext/v1/webhooks", json=hook)
        assert r.status_code == 201, r.text
        signing_key = r.json()["signing_key"]
        # By the settings import: localhost, which resolves to a loopback address.
        document = api.get("/v3/settings").json()
        document["resources"]["webhooks"].append(
            {
                "name": "Local settings",
                "description": "",
                "secret": "local",
                "callback_url": receiver.url("/settings-hook", host="localhost"),
                "event_names": ["task_added"],
            }
        )
        r = api.post("/v3/settings", params={"execute": "true"}, json=document)
        assert r.status_code == 200, r.text
        listed = api.get("/ext/v1/webhooks").json()["data"]
        settings_key = next(w["signing_key"] for w in listed if w["name"] == "Local settings")
        # Still no private addresses in demo mode.
        private = {**hook, "callback_url": "https://192.168.1.10/hook"}
        r = api.post("/ext/v1/webhooks", json=private)
        assert r.status_code == 422
        assert "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in r.json()["errors"]["callback_url"]

        r = api.post("/v3/tasks", json={"title": "Webhook demo"})
        assert r.status_code == 201, r.text
        task_id = r.json()["id"]

        for path, key in (("/hook", signing_key), ("/settings-hook", settings_key)):
            [payload] = _verified(receiver.wait_for(1, path, timeout=60), key)
            assert payload["event_name"] == "task_added", json.dumps(payload)
            assert task_id in json.dumps(payload)
