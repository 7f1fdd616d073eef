"""`cmpapi serve --access-log` never writes a secret of a query string to its log."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cmpapi.cli.access_log import redact_query
from tests.support.env import child_env
from tests.support.servers import free_port, wait_serving

# The S3CR3T values must never reach the log; the visible ones must.
SECRET_QUERIES = [
    "/healthz?access_token=S3CR3T-access-1&keep=visible-1",
    "/v3/userlist?token=S3CR3T-token-2&offset=0",
    "/o/oauth2/v1/auth?client_id=visible-3&code=S3CR3T-code-3&state=visible-state",
    "/o/oauth2/v1/userinfo?refresh_token=S3CR3T-refresh-4&client_secret=S3CR3T-client-4",
    "/healthz?access%5Ftoken=S3CR3T-encoded-5",
    "/healthz?x=1;password=S3CR3T-semicolon-6",
    "/uploads/x?X-Amz-Signature=S3CR3T-sig-7&expires=1&signature=S3CR3T-sig-8",
    "/healthz?CLIENT_SECRET=S3CR3T-upper-9&code_verifier=S3CR3T-verifier-9",
    "/healthz?access_token=S3CR3T%3D%3D-padded-10==&last=visible-10",
]


@pytest.fixture
def served_with_access_log(tmp_path: Path):
    port = free_port()
    env = child_env()
    env["PYTHONUNBUFFERED"] = "1"
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--access-log", "--port", str(port)]
    argv += ["--data-dir", str(tmp_path / "data")]
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(proc, base, log.read_text)
        yield base, log
    finally:  # also when it did not start: no server left behind
        proc.terminate()
        proc.wait(timeout=10)


def test_query_string_secrets_never_reach_the_access_log(served_with_access_log) -> None:
    base, log = served_with_access_log
    with httpx.Client(base_url=base) as http:
        for target in SECRET_QUERIES:
            http.get(target)
        http.post("/o/oauth2/v1/token?client_secret=S3CR3T-post-11", data={"a": "b"})
        http.get("/healthz?done=marker")

    deadline = time.monotonic() + 10
    while "done=marker" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    text = log.read_text()

    assert "S3CR3T" not in text, text
    for visible in ("keep=visible-1", "client_id=visible-3", "state=visible-state", "offset=0"):
        assert visible in text
    assert "last=visible-10" in text
    assert 'GET /healthz?access_token=REDACTED&keep=visible-1 HTTP/1.1" 200' in text
    assert "access%5Ftoken=REDACTED" in text
    assert "POST /o/oauth2/v1/token?client_secret=REDACTED" in text
    # The line goes on with the operation, the duration and the request id (text format).
    assert re.search(
        r'"GET /healthz\?done=marker HTTP/1.1" 200 healthz [0-9.]+ms rid=[0-9a-f]{32}', text
    )


def test_redaction_keeps_everything_else() -> None:
    assert redact_query("/a/b") == "/a/b"
    assert redact_query("/a?") == "/a?"
    assert redact_query("/a?flag&token=&q=x") == "/a?flag&token=&q=x"
    assert redact_query("/a?q=code&code=abc") == "/a?q=code&code=REDACTED"
    assert redact_query("/a?postcode=1&zip=2") == "/a?postcode=1&zip=2"
    assert redact_query("/a?Access_Token=x&b=%26") == "/a?Access_Token=REDACTED&b=%26"
