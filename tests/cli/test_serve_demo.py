"""What `cmpapi serve --demo` (nothing else set) promises a developer: a webhook on their
own machine, registered by the API or by the settings import, receives signed events; the
login page slows down, then refuses, repeated wrong passwords; everything the demo seeds
can be listed and downloaded at once (renditions included); the banner's authorization
URL and verifier complete an authorization code flow; a second start changes nothing."""

from __future__ import annotations

import html
import io
import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select
from standardwebhooks.webhooks import Webhook as Verifier

from cmpapi.cli.server_commands import DEMO_WEBHOOKS
from cmpapi.server import demo_files, demo_library, demo_work
from cmpapi.server.db.tables import Base
from cmpapi.server.demo import demo_id
from tests.contract.spec import check_httpx_response
from tests.oauth.flow import _FORM, _HIDDEN, AUTH, bearer, query_of
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
        fields = dict(m.groups() for line in banner if (m := re.match(r"([a-z_]+): (.*)", line)))
        # The code exchange's curl, as printed (its code pasted in by the test).
        fields["exchange"] = next(line for line in banner if "=authorization_code" in line)
        yield base, fields


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


# -- the seeded data -----------------------------------------------------------------------


@contextmanager
def _api(base: str, fields: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of the demo app's token (Ada Admin) whose /v3 answers are spec-checked."""
    with httpx.Client(base_url=base, event_hooks={"response": [check_httpx_response]}) as api:
        _with_app_token(api, fields)
        yield api


def _all(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    r = api.get(path, params={"page_size": "100", **params})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_the_library_is_there_with_its_renditions(demo: Demo) -> None:
    """The pictures and files list and download as seeded; every picture lists its
    renditions (thumbnail and web) the moment the server answers, and they are images."""
    base, fields = demo
    with _api(base, fields) as api, httpx.Client() as web:
        assets = {a["title"]: a for a in _all(api, "/v3/assets")}
        folders = {f["name"]: f for f in _all(api, "/v3/folders")}
        assert {"Spring photos", "Brand kit"} <= set(folders)
        for title, data in demo_files.images().items():
            asset = assets[title]
            assert (asset["type"], asset["file_location"]) == ("image", "/Spring photos")
            assert web.get(asset["content"]["value"]).content == data
            renditions = _all(api, f"/v3/assets/{asset['id']}/renditions")
            assert sorted(r["name"] for r in renditions) == ["thumbnail", "web"]
            for rendition in renditions:
                with Image.open(io.BytesIO(web.get(rendition["url"]).content)) as image:
                    assert image.format == rendition["mime_type"].split("/")[1].upper()
                    assert max(image.size) <= 1600
        for title, data in demo_files.raw_files().items():
            assert assets[title]["type"] == "raw_file"
            assert web.get(assets[title]["content"]["value"]).content == data
        article = assets[demo_library.ARTICLE]
        assert article["type"] == "article"
        assert article["content"]["value"] == demo_library.ARTICLE_BODY
        meadow = assets["Spring meadow"]
        labels = {g["group"]["name"]: {v["name"] for v in g["values"]} for g in meadow["labels"]}
        assert labels == {"Content Pillar": {"Pillar 1", "Pillar 2"}, "Region": {"EMEA"}}
        values = {f["name"]: f["values"] for f in _all(api, f"/v3/assets/{meadow['id']}/fields")}
        assert values["Headline"] == ["Spring is here"]
        assert values["Launch date"] == ["2031-03-01T09:00:00Z"]
        region = {"group": demo_id("label-group:Region"), "values": [demo_id("label:Region:EMEA")]}
        by_label = _all(api, "/v3/assets", label=json.dumps(region))
        assert [a["title"] for a in by_label] == ["Spring meadow"]


def test_the_tasks_are_in_several_states(demo: Demo) -> None:
    """Waiting at the Jira step (its ticket linked), completed with drafts and comments,
    not started, on hold; the milestone links the first two."""
    base, fields = demo
    with _api(base, fields) as api:
        tasks = {t["title"]: t for t in _all(api, "/v3/tasks")}
        statuses = {
            title: tasks[title]["status"]
            for title in (
                demo_work.WAITING,
                demo_work.COMPLETED,
                demo_work.NOT_STARTED,
                demo_work.ON_HOLD,
            )
        }
        assert statuses == {
            demo_work.WAITING: "In Progress",
            demo_work.COMPLETED: "Completed",
            demo_work.NOT_STARTED: "Not Started",
            demo_work.ON_HOLD: "On Hold",
        }
        waiting = api.get(f"/v3/tasks/{tasks[demo_work.WAITING]['id']}").json()
        step = waiting["steps"][1]
        ticket = step["sub_steps"][0]
        assert (ticket["title"], ticket["is_external"]) == ("Jira ticket", True)
        work = api.get(
            f"/v3/tasks/{waiting['id']}/steps/{step['id']}/sub-steps/{ticket['id']}/external-work"
        )
        assert work.status_code == 200, work.text
        assert work.json()["identifier"] == demo_work.TICKET["identifier"]

        done = tasks[demo_work.COMPLETED]["id"]
        (banner,) = _all(api, f"/v3/tasks/{done}/assets")
        drafts = _all(api, f"/v3/tasks/{done}/assets/{banner['id']}/drafts")
        assert len(drafts) == 2
        said = _all(api, f"/v3/tasks/{done}/assets/{banner['id']}/comments")
        assert [c["value"] for c in said] == ["Approved, thanks Dan!"]  # on the latest draft
        task = api.get(f"/v3/tasks/{done}").json()
        edit = task["steps"][1]
        path = f"/v3/tasks/{done}/steps/{edit['id']}/sub-steps/{edit['sub_steps'][0]['id']}"
        assert len(_all(api, f"{path}/comments")) == 2  # a comment and its reply

        (milestone,) = _all(api, "/v3/milestones")
        assert milestone["title"] == demo_work.MILESTONE
        linked = _all(api, "/v3/tasks", milestone=milestone["id"])
        assert {t["title"] for t in linked} == {demo_work.WAITING, demo_work.COMPLETED}


def test_the_banner_authorization_url_completes_a_code_flow(demo: Demo) -> None:
    """Open the printed URL, sign in and allow as a browser would; the printed curl, with
    the code pasted, gets tokens that work. The Jira app's printed credentials work."""
    base, fields = demo
    with httpx.Client() as browser:
        page = browser.get(fields["authorize_url"])
        signed_in = _post_form(
            browser, page, login=fields["user_email"], password=fields["user_password"]
        )
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(urljoin(str(signed_in.url), signed_in.headers["location"]))
        answer = _post_form(browser, consent, action="allow")
    assert answer.status_code == 302, answer.text
    back = query_of(answer.headers["location"])
    assert answer.headers["location"].startswith(fields["redirect_uri"] + "?")
    assert back["state"] == fields["state"]
    out = subprocess.run(
        ["bash", "-c", f"set -e; CODE={back['code']}; {fields['exchange']}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    tokens = json.loads(out.stdout)
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    me = httpx.get(f"{base}/o/oauth2/v1/userinfo", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == fields["user_email"]
    jira = {
        "grant_type": "client_credentials",
        "client_id": fields["jira_client_id"],
        "client_secret": fields["jira_client_secret"],
    }
    assert httpx.post(f"{base}/o/oauth2/v1/token", data=jira).status_code == 200


def _post_form(browser: httpx.Client, page: httpx.Response, **fields: str) -> httpx.Response:
    action, form = _FORM.findall(page.text)[0]
    data = {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}
    return browser.post(urljoin(str(page.url), html.unescape(action)), data=data | fields)


def _state(data_dir: Path) -> dict[str, Any]:
    """What a start must not change: row counts of every table but the job queue (each
    start queues a statistics refresh), and every stored object's bytes."""
    engine = create_engine(f"sqlite:///{data_dir / 'cmpapi.db'}")
    try:
        with engine.connect() as conn:
            counts = {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables
                if t.name != "jobs"
            }
    finally:
        engine.dispose()
    objects = data_dir / "objects"
    files = {str(f.relative_to(objects)): f.read_bytes() for f in objects.rglob("*") if f.is_file()}
    return {"rows": counts, "files": files}


def test_a_second_start_on_the_data_dir_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    banners, states = [], []
    for _ in range(2):
        with demo_process(data_dir) as (proc, _base):
            banners.append([line for line in _banner(proc) if "127.0.0.1:" not in line])
        states.append(_state(data_dir))
    assert banners[0] == banners[1]
    assert states[0]["rows"] == states[1]["rows"]
    assert states[0]["files"] == states[1]["files"]
    assert states[0]["rows"]["library_renditions"] == 2 * len(demo_files.images())
