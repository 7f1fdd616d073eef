"""The remote commands as a user runs them: the real `cmpapi` program, in subprocesses,
against a real `cmpapi serve --demo` process. What they print is checked against what the
API answers to a plain HTTP client. Independent commands run side by side (each costs a
process start)."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmpapi.client.webhooks import new_signing_key, webhook_app
from tests.client.test_without_server_extra import BLOCKER
from tests.oauth.flow import sign_in_and_decide
from tests.support.cli import argv, cmpapi, cmpapi_many, failed, ok
from tests.support.env import child_env
from tests.support.servers import demo_process, free_port, serving

CLIENT_ID = "cmpapi-demo-app"
CLIENT_SECRET = "cmpapi-demo-secret-do-not-use-in-production"
JIRA = ("cmpapi-demo-jira", "cmpapi-demo-jira-secret-do-not-use-in-production")
ADMIN = ("ada.admin@demo.cmpapi.dev", "demo-password")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_process(tmp_path_factory.mktemp("demo") / "data") as (_, base):
        yield base


@pytest.fixture(scope="module")
def admin(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config directory whose default profile is the demo app, logged in with client
    credentials (it acts as Ada Admin)."""
    config = tmp_path_factory.mktemp("config")
    login = cmpapi(
        config,
        "login",
        "--server",
        server,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--client-credentials",
    )
    ok(login)
    assert f"Logged in to {server} as {ADMIN[0]} (profile default)." in login.stderr
    return config


@pytest.fixture(scope="module")
def api(server: str, admin: Path) -> Iterator[httpx.Client]:
    """A plain HTTP client with the admin profile's token: what the API says."""
    token = json.loads((admin / "tokens.json").read_text())["default"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{server}/v3", headers=headers) as client:
        yield client


def test_client_credentials_login_keeps_a_private_profile(server: str, admin: Path) -> None:
    for name in ("config.toml", "tokens.json"):
        assert stat.S_IMODE((admin / name).stat().st_mode) == 0o600
    config = (admin / "config.toml").read_text()
    assert f'server = "{server}"' in config
    assert 'grant = "client_credentials"' in config
    table = ok(cmpapi(admin, "whoami"))
    for value in (ADMIN[0], "Ada Admin", server, CLIENT_ID, "client_credentials"):
        assert value in table


def _play_browser(url: str, decision: str = "allow") -> httpx.Response:
    """What the user does in the browser: sign in, allow (or deny), land on the CLI's
    callback."""
    decided = sign_in_and_decide(url, ADMIN[0], ADMIN[1], decision)
    assert decided.headers["location"].startswith("http://localhost:")
    return httpx.get(decided.headers["location"])


def _browser_login(server: str, config: Path, decision: str) -> tuple[httpx.Response, int, str]:
    """`cmpapi login --no-browser`, the test in the browser's place: the callback page, the
    exit code and stderr. The CLI listens on a free port of the demo app's registered
    loopback URI (http://localhost:3000/callback)."""
    login = argv(
        "login",
        "--server",
        server,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--no-browser",
        "--timeout",
        "60",
    )
    env = child_env(CMPAPI_CONFIG_DIR=str(config))
    with subprocess.Popen(
        login, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith(f"{server}/o/oauth2/v1/auth?"), url
        callback = _play_browser(url, decision)
        _, errors = proc.communicate(timeout=60)
    assert "Traceback" not in errors
    return callback, proc.returncode, errors


def test_browser_login_whoami_and_logout(server: str, tmp_path: Path) -> None:
    callback, code, errors = _browser_login(server, tmp_path, "deny")
    assert "access_denied" in callback.text
    assert code == 3, errors
    assert errors.splitlines() == [
        "Open this URL to sign in:",
        "error: no login: the sign-in was refused: access_denied (The user denied the request)",
    ]
    assert not (tmp_path / "config.toml").exists()

    callback, code, errors = _browser_login(server, tmp_path, "allow")
    assert callback.status_code == 200
    assert "You can close this tab" in callback.text
    assert code == 0, errors
    assert f"as {ADMIN[0]} (profile default)" in errors
    token = json.loads((tmp_path / "tokens.json").read_text())["default"]
    assert token["refresh_token"]

    whoami = json.loads(ok(cmpapi(tmp_path, "whoami", "-o", "json")))
    assert (whoami["grant"], whoami["claims"]["email"]) == ("authorization_code", ADMIN[0])
    logout = cmpapi(tmp_path, "logout")
    ok(logout)
    assert "Logged out (profile default)." in logout.stderr
    assert "default" not in json.loads((tmp_path / "tokens.json").read_text())
    # Revoked at the server: the refresh token's grant, with its access token.
    userinfo = httpx.get(
        f"{server}/o/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert userinfo.status_code == 401


LISTS = {  # command group -> API path
    "assets": "/assets",
    "folders": "/folders",
    "campaigns": "/campaigns",
    "tasks": "/tasks",
}


def unsigned(value: Any) -> Any:
    """``value`` with signed file URLs cut at their query: each answer signs them anew
    (``expires``, ``signature``), so two reads of one asset differ there only."""
    if isinstance(value, dict):
        return {k: unsigned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsigned(v) for v in value]
    if isinstance(value, str) and "signature=" in value:
        return value.partition("?")[0]
    return value


def test_lists_and_gets_print_what_the_api_answers(admin: Path, api: httpx.Client) -> None:
    ok(cmpapi(admin, "folders", "create", "Remote folder", "-o", "json"))
    truth = {
        group: api.get(path, params={"page_size": 100}).json()["data"]
        for group, path in LISTS.items()
    }
    assert all(len(items) >= 1 for items in truth.values()), truth
    calls: dict[str, tuple[str, ...]] = {}
    for group, items in truth.items():
        calls[f"{group} json"] = (group, "list", "-o", "json", "--limit", "2")
        calls[f"{group} all"] = (group, "list", "--all")
        calls[f"{group} get"] = (group, "get", items[0]["id"], "-o", "json")
    # The table form of get is one function for all; tasks add their steps.
    calls["task table"] = ("tasks", "get", truth["tasks"][0]["id"])
    calls["campaign table"] = ("campaigns", "get", truth["campaigns"][0]["id"])
    runs = cmpapi_many(admin, calls)

    for group, items in truth.items():
        listed = json.loads(ok(runs[f"{group} json"]))
        assert unsigned(listed) == unsigned(items[:2]), group
        table = ok(runs[f"{group} all"])
        for item in items:  # every row, its id whole on one line
            assert item["id"] in table, (group, table)
        got = json.loads(ok(runs[f"{group} get"]))
        assert got["id"] == items[0]["id"]
    task = api.get(f"/tasks/{truth['tasks'][0]['id']}").json()
    assert json.loads(runs["tasks get"].stdout) == task
    table = ok(runs["task table"])
    for step in task["steps"]:
        for sub in step["sub_steps"]:
            assert any(step["id"] in line and sub["id"] in line for line in table.splitlines())
    campaign = ok(runs["campaign table"])
    rows = [[part.strip() for part in line.split("│")] for line in campaign.splitlines()]
    for key in ("id", "title", "reference_id"):
        assert [key, truth["campaigns"][0][key]] in rows, campaign


def test_api_command_and_errors(
    server: str, admin: Path, api: httpx.Client, tmp_path: Path
) -> None:
    # A profile written by hand whose token the server does not know, with no way to
    # renew it (no secret, no refresh token).
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.toml").write_text(
        f'[profiles.default]\nserver = "{server}"\nclient_id = "{CLIENT_ID}"\n'
        f'[profiles.down]\nserver = "http://127.0.0.1:{free_port()}"\nclient_id = "x"\n'
    )
    tokens = {"default": {"access_token": "not-a-token"}, "down": {"access_token": "t"}}
    (tmp_path / "bad" / "tokens.json").write_text(json.dumps(tokens))
    folder = json.dumps({"name": "", "bogus": 1})
    runs = cmpapi_many(
        admin,
        {
            "paginate": ("api", "GET", "/v3/tasks", "--query", "page_size=1", "--paginate"),
            "redirect": ("api", "get", f"asset-urls/{api.get('/assets').json()['data'][0]['id']}"),
            "404": ("assets", "get", "no-such-asset"),
            "422": ("api", "POST", "/folders", "--data", folder),
            "method": ("api", "FETCH", "/tasks"),
            "data": ("api", "POST", "/folders", "--data", "@/no/such/file.json"),
            "filter": ("assets", "list", "--type", "pdf"),
        },
    )
    bad = cmpapi_many(
        tmp_path / "bad",
        {
            "token": ("assets", "list"),
            "down": ("campaigns", "list", "--profile", "down"),
            "unknown profile": ("tasks", "list", "--profile", "nobody"),
            "wrong secret": (
                "login",
                "--server",
                server,
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                "wrong",
                "--client-credentials",
                "--profile",
                "wrong",
            ),
        },
    )

    every_task = []
    page = api.get("/tasks", params={"page_size": 1}).json()
    while True:
        every_task += page["data"]
        if not page["pagination"]["next"]:
            break
        page = httpx.get(page["pagination"]["next"], headers=api.headers).json()
    assert len(every_task) >= 2
    assert json.loads(ok(runs["paginate"])) == every_task
    redirect = json.loads(ok(runs["redirect"]))
    assert redirect["status"] == 302 and redirect["resource_location"] == "library"
    assert failed(runs["404"], 1) == ["error: Resource not found (HTTP 404)"]
    assert failed(runs["422"], 1) == [
        "error: Invalid request body (HTTP 422)",
        "  name: String should have at least 1 character",
        "  bogus: Unknown field",
    ]
    assert "METHOD must be one of" in failed(runs["method"], 2)[0]
    assert "--data @/no/such/file.json" in failed(runs["data"], 2)[0]
    assert failed(runs["filter"], 2)[0] == "error: invalid option value"
    assert failed(bad["token"], 3) == [
        "error: Unauthorized (HTTP 401): run `cmpapi login --profile default`"
    ]
    assert failed(bad["down"], 1)[0].startswith("error: connection failed")
    assert failed(bad["unknown profile"], 3)[0].startswith("error: not logged in (profile nobody)")
    assert failed(bad["wrong secret"], 3) == [
        "error: the token was refused: invalid_client: Unknown client or wrong client secret: "
        "check the app's client id and secret"
    ]
    assert "wrong" not in (tmp_path / "bad" / "config.toml").read_text()  # nothing saved


def _sub_steps(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        sub["title"]: sub | {"step_id": step["id"]}
        for step in task["steps"]
        for sub in step["sub_steps"]
    }


def test_complete_sub_steps_and_the_deferred_approval(
    server: str, admin: Path, api: httpx.Client, tmp_path: Path
) -> None:
    """The demo's "Legal review with Jira": people complete the first sub-steps; the legal
    approval is deferred to the Jira app, which links its ticket and completes it."""
    workflows = api.get("/workflows", params={"page_size": 100}).json()["data"]
    workflow = next(w["id"] for w in workflows if w["name"] == "Legal review with Jira")
    created = api.post("/tasks", json={"title": "Remote review", "workflow_id": workflow})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    subs = _sub_steps(created.json())
    jira = cmpapi(
        tmp_path,
        "login",
        "--server",
        server,
        "--client-id",
        JIRA[0],
        "--client-secret",
        JIRA[1],
        "--client-credentials",
        "--profile",
        "jira",
    )
    ok(jira)
    for title in ("Write", "Jira ticket"):
        done = cmpapi(admin, "tasks", "complete-sub-step", task_id, subs[title]["id"], "-o", "json")
        assert json.loads(ok(done))["is_completed"] is True

    refused = cmpapi(admin, "tasks", "complete-sub-step", task_id, subs["Legal approval"]["id"])
    assert failed(refused, 1)[0].endswith("(HTTP 403)")
    approval = cmpapi(
        tmp_path,
        "tasks",
        "complete-sub-step",
        task_id,
        subs["Legal approval"]["id"],
        "--step",
        subs["Legal approval"]["step_id"],
        "--external-id",
        "LEGAL-7",
        "--external-status",
        "Approved",
        "--external-url",
        "https://jira.example.com/LEGAL-7",
        "--profile",
        "jira",
    )
    assert subs["Legal approval"]["id"] in ok(approval)

    after = _sub_steps(api.get(f"/tasks/{task_id}").json())
    assert after["Legal approval"]["is_completed"] is True
    work = api.get(after["Legal approval"]["links"]["external_work"]).json()
    assert (work["identifier"], work["status"]) == ("LEGAL-7", "Approved")


def test_remote_commands_need_nothing_of_the_server(admin: Path) -> None:
    """The remote half works with `pip install cmpapi` alone: a real call, with the server
    extra's packages made unimportable, imports not one cmpapi.server module."""
    argv = ["cmpapi", "assets", "list", "--limit", "1", "-o", "json"]
    code = f"{BLOCKER}\nimport sys\nsys.argv = {argv!r}\nfrom cmpapi.cli.main import app\napp()"
    command = [sys.executable, "-X", "importtime", "-c", code]
    env = child_env(CMPAPI_CONFIG_DIR=str(admin))
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(json.loads(run.stdout)) == 1
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert "cmpapi.client" in imported
    assert [m for m in imported if m.startswith("cmpapi.server")] == []


def test_download_writes_the_asset_file(admin: Path, api: httpx.Client, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: several chunks of the progress bar
    form = api.get("/upload-url").json()
    fields = form["upload_meta_fields"]
    posted = httpx.post(form["url"], data=fields, files={"file": ("report.bin", data)})
    assert posted.status_code == 204, posted.text
    created = api.post("/assets", json={"key": fields["key"], "title": "Q3 report"})
    assert created.status_code == 201, created.text
    asset = created.json()

    run = cmpapi(admin, "assets", "download", asset["id"], str(tmp_path))

    path = Path(ok(run).strip())
    assert path.parent == tmp_path
    extension = asset.get("file_extension")
    assert path.name == "Q3 report" + (f".{extension}" if extension else "")  # its title
    assert path.read_bytes() == data
    assert not list(tmp_path.glob("*.part"))


def _interrupted_upload(config: Path, args: tuple[str, ...]) -> int:
    """Start ``cmpapi args`` (an upload) and press Ctrl-C once the journal holds its first
    sent part; the exit code."""
    env = child_env(CMPAPI_CONFIG_DIR=str(config), CMPAPI_CACHE_DIR=str(config / "cache"))
    journal = config / "cache" / "uploads"
    log = config / "interrupted.log"  # a file: a pipe nobody reads could fill and block
    with (
        log.open("w") as errors,
        subprocess.Popen(argv(*args), env=env, stderr=errors, stdout=subprocess.DEVNULL) as proc,
    ):
        deadline = time.monotonic() + 60
        while not any(p.read_text().strip() for p in journal.glob("*.parts")):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no part was sent"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert "Traceback" not in log.read_text()
    assert "error: interrupted" in log.read_text()
    return proc.returncode


def test_upload_shows_progress_and_resumes_after_an_interrupt(
    admin: Path, api: httpx.Client, tmp_path: Path
) -> None:
    """Two files; Ctrl-C while the second, a multipart upload, is under way; the same
    command again skips the first (already an asset) and finishes the second from its
    journal. What was uploaded downloads with the same SHA-256."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"remote upload\n" * 1000)
    film = tmp_path / "film.bin"
    film.write_bytes(random.Random(14).randbytes(40 * 1024**2))  # 8 parts of 5 MiB
    folder = json.loads(ok(cmpapi(admin, "folders", "create", "Uploads", "-o", "json")))["id"]
    args = (
        "assets",
        "upload",
        str(notes),
        str(film),
        "--folder",
        folder,
        "--part-size",
        "5",
        "--multipart-threshold",
        "1",
        "--concurrency",
        "1",
        "-o",
        "json",
    )

    assert _interrupted_upload(admin, args) == 130
    journal = admin / "cache" / "uploads"
    assert list(journal.glob("*.parts")), "the multipart upload was left resumable"
    again = cmpapi(admin, *args)

    assets = json.loads(ok(again))
    assert [a["title"] for a in assets] == ["notes.txt", "film.bin"]
    listed = cmpapi(
        admin,
        "assets",
        "list",
        "--folder",
        folder,
        "--type",
        "raw_file",
        "--search",
        "film",
        "-o",
        "json",
    )
    assert [a["id"] for a in json.loads(ok(listed))] == [assets[1]["id"]]  # one film.bin
    assert not list(journal.glob("*.parts")) and not list(journal.glob("batch-*"))
    downloaded = ok(cmpapi(admin, "assets", "download", assets[1]["id"], str(tmp_path / "out")))
    digest = hashlib.sha256(Path(downloaded.strip()).read_bytes()).hexdigest()
    assert digest == hashlib.sha256(film.read_bytes()).hexdigest()


def test_listen_forwards_signed_events_that_trigger_records(admin: Path) -> None:
    """``cmpapi listen`` POSTs each event to the local URL signed as a real delivery (the
    SDK's receiver verifies it), one line per event with the local answer; ``cmpapi
    trigger`` records the events; Ctrl-C ends it with 130."""
    key, received = new_signing_key(), []
    receiver = webhook_app(received.append, signing_key=key, secret="local-secret")
    with serving(receiver) as local:  # type: ignore[arg-type]
        env = child_env(CMPAPI_CONFIG_DIR=str(admin), CMPAPI_CACHE_DIR=str(admin / "cache"))
        args = ["listen", "--forward-to", f"{local}/hook", "--signing-key", key]
        args += ["--secret", "local-secret", "-e", "asset_added", "-e", "task_added"]
        listening = subprocess.Popen(
            argv(*args), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert listening.stderr is not None and listening.stdout is not None
            assert "Forwarding events to" in listening.stderr.readline()
            triggered = cmpapi_many(
                admin,
                {
                    n: ("trigger", n, "-o", "json")
                    for n in ("asset_added", "campaign_added", "task_added")
                },
            )
            ids = {json.loads(ok(run))["id"] for run in triggered.values()}
            deadline = time.monotonic() + 60
            while len([e for e in received if e.delivery_id in ids]) < 2:
                assert time.monotonic() < deadline, received
                time.sleep(0.1)
        finally:
            listening.send_signal(signal.SIGINT)
            printed, _ = listening.communicate(timeout=30)  # and closes the pipes
            assert listening.returncode == 130
    # Other tests on this server may add assets meanwhile: only the triggered events count,
    # each once.
    mine = sorted((e.event_name, e.delivery_id) for e in received if e.delivery_id in ids)
    assert [name for name, _ in mine] == ["asset_added", "task_added"], received
    for _, delivery_id in mine:  # one line each, with the local answer
        assert next(line for line in printed.splitlines() if delivery_id in line).endswith("-> 200")
