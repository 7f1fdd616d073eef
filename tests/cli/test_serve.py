"""The README's promise: `cmpapi serve --demo` prints credentials and a curl pair that works."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.env import child_env
from tests.support.servers import free_port


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    env = child_env()
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--demo", "--port", str(port)]
    argv += ["--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # start-up imports the app; CI runs tests side by side
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield proc, base
    finally:  # also when it did not start: no server left behind
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def _printed(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("curl "):
        lines.append(proc.stdout.readline().rstrip("\n"))
    return lines


def test_demo_serve_prints_a_working_curl_pair(served) -> None:
    proc, base = served
    lines = _printed(proc)
    fields = dict(line.split(": ", 1) for line in lines if ": " in line and line[:1].isalpha()
                  and not line.startswith(("TOKEN", "curl")))  # fmt: skip
    for name in ("client_id", "client_secret", "redirect_uri", "user_email", "user_password"):
        assert fields[name], name
    get_token = next(line for line in lines if line.startswith("TOKEN="))
    call_api = lines[-1]
    out = subprocess.run(
        ["bash", "-c", f"set -e; {get_token}; {call_api}"], capture_output=True, text=True,
        timeout=30, check=True,
    )  # fmt: skip
    body = json.loads(out.stdout)
    names = {u["full_name"] for u in body["data"]}
    assert "Ada Admin" in names
    assert body["pagination"]["previous"] is None
    assert body["data"][0]["links"]["self"].startswith(f"{base}/v3/users/")
