"""What `cmpapi serve --demo` (nothing else set) promises a developer: a webhook on their
own machine, registered by the API or by the settings import, receives signed events; and
the login page slows down, then refuses, repeated wrong passwords."""

from __future__ import annotations

import html
import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from cmpapi.cli.server_commands import DEMO_WEBHOOKS
from tests.contract.spec import check_httpx_response
from tests.oauth.flow import _FORM, _HIDDEN, AUTH
from tests.oauth.test_no_framing import assert_not_framable
from tests.support.servers import demo_process, free_port
from tests.webhooks.receiver import Received, Receiver

Demo = tuple[str, dict[str, str]]
RECEIVER = Path(__file__).parents[2] / "scripts" / "receive-webhooks"


def _banner(proc: subprocess.Popen[str]) -> list[str]:
    """The banner's lines, up to the webhook line the demo prints last."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline().rstrip("\n")]
    while lines[-1] != DEMO_WEBHOOKS:
        lines.append(proc.stdout.readline().rstrip("\n"))
    return lines


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo process for the module: its base URL and the banner's ``name: value``
    lines. A first delay of a minute after wrong passwords: however slow the machine, the
    next attempt comes within it."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    with demo_process(data_dir, env={"CMPAPI_SIGNIN_FIRST_DELAY": "60"}) as (proc, base):
        banner = _banner(proc)
        yield base, dict(m.groups() for line in banner if (m := re.match(r"([a-z_]+): (.*)", line)))


def _verified(received: list[Received], signing_key: str) -> list[dict[str, object]]:
    """The payloads of ``received`` requests, each one's Standard Webhooks signature
    checked (``verify`` raises on a bad one)."""
    verifier = Verifier(signing_key)
    return [verifier.verify(r.body, r.headers) for r in received]


def _with_app_token(api: httpx.Client, fields: dict[str, str]) -> None:
    """The demo app's client_credentials token on every later request of ``api``."""
    token = api.post(
        "/o/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fields["client_id"],
            "client_secret": fields["client_secret"],
        },
    ).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"


def test_demo_delivers_to_a_loopback_receiver(demo: Demo) -> None:
    base, fields = demo
    with (
        Receiver() as receiver,
        # The API's responses are checked against the spec (the ext ones have none).
        httpx.Client(base_url=base, event_hooks={"response": [check_httpx_response]}) as api,
    ):
        _with_app_token(api, fields)

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


def _sign_in(
    browser: httpx.Client, params: dict[str, str], login: str, password: str
) -> httpx.Response:
    """A fresh sign-in, as a browser makes it: get the form, post it back."""
    browser.cookies.clear()
    page = browser.get(AUTH, params=params)
    action, form = _FORM.findall(page.text)[0]
    data = {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}
    url = urljoin(str(page.url), html.unescape(action))
    return browser.post(url, data=data | {"login": login, "password": password})


def _error(page: httpx.Response) -> str:
    found = re.search(r'id="login-error">(.*?)<', page.text, re.S)
    return html.unescape(found.group(1).strip()) if found else ""


def test_demo_login_slows_down_then_refuses_wrong_passwords(demo: Demo) -> None:
    """The issue's run: 15 wrong passwords in a row. The first five are simply wrong, the
    sixth starts a delay, and every later attempt, the right password included, is refused
    (429, Retry-After) without being checked. A name no account has goes the same way."""
    base, fields = demo
    params = {
        "response_type": "code",
        "client_id": fields["client_id"],
        "scope": "openid",
        "redirect_uri": fields["redirect_uri"],
        "state": "s",
    }
    runs = {}
    for login, address in (
        (fields["user_email"], "198.51.100.1"),
        ("nobody@example.com", "198.51.100.2"),
    ):
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a reverse proxy): two clients.
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": address}) as browser:
            pages = [_sign_in(browser, params, login, "wrong") for _ in range(15)]
            pages.append(_sign_in(browser, params, login, fields["user_password"]))
        for page in pages:
            assert_not_framable(page)
        for page in pages[6:]:  # no timed assert: the delay started a moment ago
            assert 1 <= int(page.headers["retry-after"]) <= 60
        runs[login] = [(p.status_code, "retry-after" in p.headers, _error(p)) for p in pages]
    wrong = "Wrong username, email or password."
    later = "Too many failed sign-in attempts. Try again in 1 minute."
    expected = [(200, False, wrong)] * 5 + [(200, False, f"{wrong} {later}")]
    expected += [(429, True, later)] * 10
    assert runs[fields["user_email"]] == expected
    assert runs["nobody@example.com"] == expected  # whether the account exists: not told


def test_the_readme_receiver_checks_the_demo_signatures(demo: Demo) -> None:
    """The README's first webhook: scripts/receive-webhooks with the webhook's key prints
    the delivery with "signature ok"."""
    base, fields = demo
    port = free_port()
    with httpx.Client(base_url=base) as api:
        _with_app_token(api, fields)
        hook = {
            "name": "README",
            "callback_url": f"http://127.0.0.1:{port}/hook",
            "event_names": ["task_added"],
        }
        r = api.post("/ext/v1/webhooks", json=hook)
        assert r.status_code == 201, r.text
        argv = [
            sys.executable,
            str(RECEIVER),
            "--port",
            str(port),
            "--key",
            r.json()["signing_key"],
        ]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as receiver:
            try:
                lines = _lines(receiver)
                assert lines.get(timeout=30).startswith("receiving webhooks on")
                r = api.post("/v3/tasks", json={"title": "From the README"})
                assert r.status_code == 201, r.text
                line = lines.get(timeout=60)
                assert " /hook task_added webhook-id=" in line, line
                assert line.rstrip().endswith("signature ok"), line
            finally:
                receiver.terminate()


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The lines ``proc`` prints, as they come (read by a thread: a test never hangs)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                lines.put(line)
        except ValueError:  # Popen's exit closed the pipe while this thread read it
            pass

    threading.Thread(target=read, daemon=True).start()
    return lines
