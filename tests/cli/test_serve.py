"""The README's promise: `cmpapi serve --demo` prints credentials and a curl pair that works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import demo_process


@pytest.fixture
def served(tmp_path: Path):
    """The demo on a database named by --database-url, away from its data directory."""
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'demo.db'}"
    with demo_process(tmp_path / "data", "--database-url", url) as (proc, base):
        yield proc, base


def _printed(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("curl "):
        lines.append(proc.stdout.readline().rstrip("\n"))
    return lines


def test_demo_serve_prints_a_working_curl_pair(served, tmp_path: Path) -> None:
    proc, base = served
    assert (tmp_path / "elsewhere" / "demo.db").is_file()
    assert not (tmp_path / "data" / "cmpapi.db").exists()
    lines = _printed(proc)
    fields = dict(
        line.split(": ", 1)
        for line in lines
        if ": " in line and line[:1].isalpha() and not line.startswith(("TOKEN", "curl"))
    )
    for name in ("client_id", "client_secret", "redirect_uri", "user_email", "user_password"):
        assert fields[name], name
    get_token = next(line for line in lines if line.startswith("TOKEN="))
    call_api = lines[-1]
    out = subprocess.run(
        ["bash", "-c", f"set -e; {get_token}; {call_api}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body = json.loads(out.stdout)
    names = {u["full_name"] for u in body["data"]}
    assert "Ada Admin" in names
    assert body["pagination"]["previous"] is None
    assert body["data"][0]["links"]["self"].startswith(f"{base}/v3/users/")
