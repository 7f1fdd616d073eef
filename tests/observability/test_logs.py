"""The request log in JSON (``CMPAPI_LOG_FORMAT=json``) on a live server: one line per
request with its id, operation, status and duration, and never a password, token, client
secret or authorization code, after a real sign-in and API calls with the token."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cmpapi.server.jobs import queue
from cmpapi.server.observability import context
from cmpapi.server.settings import Settings
from tests.oauth.flow import Browser, bearer
from tests.observability.logs import json_logs
from tests.support.workers import wait_for, worker_processes
from tests.support.world import PASSWORD, World


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"log_format": "json"})


def test_json_request_lines_name_the_request_and_keep_secrets_out(
    http: httpx.Client, world: World
) -> None:
    browser = Browser(http, world)
    with json_logs() as logs:
        code = browser.code()
        tokens = browser.exchange(code).json()
        access = tokens["access_token"]
        r = http.get("/v3/userlist", headers={**bearer(access), "X-Request-Id": "obs-list-1"})
        assert r.status_code == 200
        # Some clients send the token in the query string too (refused: unknown parameter).
        r = http.get(f"/v3/userlist?access_token={access}&page_size=2", headers=bearer(access))
        assert r.status_code == 400
        assert http.get("/v3/userlist", headers=bearer("not-a-token")).status_code == 401

    secrets = [PASSWORD, access, tokens["refresh_token"], world.client_secret, code]
    for secret in secrets:
        assert secret not in logs.text
    lines = logs.lines("cmpapi.access")
    assert lines, logs.text
    for line in lines:
        assert {
            "time",
            "level",
            "request_id",
            "method",
            "path",
            "status",
            "operation",
            "duration_ms",
        } <= line.keys(), line
        assert line["message"] == "request"
    listed = [line for line in lines if line["request_id"] == "obs-list-1"]
    assert len(listed) == 1
    [line] = listed
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v3/userlist", 200)
    assert line["operation"] == "listUsers" and line["duration_ms"] >= 0
    redacted = [line for line in lines if "access_token=" in line["path"]]
    assert [line["path"] for line in redacted] == ["/v3/userlist?access_token=REDACTED&page_size=2"]
    assert any(line["status"] == 401 for line in lines)
    # The sign-in itself: the login page posted the password, the token endpoint the secret.
    assert {line["method"] for line in lines if line["path"].startswith("/o/oauth2/")} == {
        "GET",
        "POST",
    }


def test_the_request_line_names_the_callers_organization(http: httpx.Client, world: World) -> None:
    with json_logs() as logs:
        r = http.get("/v3/userlist", headers={**world.auth(), "X-Request-Id": "obs-org-1"})
        assert r.status_code == 200
        # The line is written once the answer is sent: the client may read it first.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mine = [li for li in logs.lines("cmpapi.access") if li["request_id"] == "obs-org-1"]
            if mine:
                break
            time.sleep(0.01)
    [line] = mine
    assert line["org_id"] == world.org.id


def test_cmpapi_worker_writes_json_lines_naming_the_request_behind_a_job(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    with Session(engine) as session, context.bind("obs-job-1"):  # as during a request
        job_id = queue.enqueue(session, "library.compact_counts", {}).id
        session.commit()
    engine.dispose()
    log = tmp_path / "w.log"
    with worker_processes(database_url, tmp_path) as start:
        proc = start("w", CMPAPI_LOG_FORMAT="json")
        wait_for(lambda: '"request_id":"obs-job-1"' in log.read_text(), proc, 60)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    [done] = [line for line in lines if line.get("request_id") == "obs-job-1"]
    assert done["logger"] == "cmpapi.jobs" and done["level"] == "info"
    assert done["message"].startswith(f"job library.compact_counts {job_id} attempt 1 succeeded")
    assert any("started" in line["message"] for line in lines)
