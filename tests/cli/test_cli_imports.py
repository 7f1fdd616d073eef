"""What the CLI loads, the stable measure of its start-up time (docs/cli.md#speed): `--help`
loads nothing of the server, SQLAlchemy or pydantic; a listing loads what it reads, never
the web stack (FastAPI, Starlette), the app or the image library."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.env import child_env

# Runs the CLI's entry point, then prints the top-level packages and our modules loaded.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(
    m for m in sys.modules if "." not in m or m.startswith("cmpapi.")
)), file=sys.stderr))
sys.argv = ["cmpapi", *sys.argv[1:]]
from cmpapi.cli.main import main
main()
"""


def loaded(*args: str, cwd: Path) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_and_a_listing_load_only_what_they_need(tmp_path: Path, sqlite_template: Path) -> None:
    for_help = loaded("--help", cwd=tmp_path)
    assert not {m for m in for_help if m.startswith("cmpapi.server")}
    assert not for_help & {"sqlalchemy", "pydantic", "alembic", "fastapi"}

    (tmp_path / "cmpapi-data").mkdir()
    shutil.copy(sqlite_template, tmp_path / "cmpapi-data" / "cmpapi.db")
    for_listing = loaded("jobs", "list", "-o", "json", cwd=tmp_path)
    assert "cmpapi.server.jobs.tables" in for_listing
    heavy = {"fastapi", "starlette", "PIL", "obstore", "uvicorn", "cmpapi.server.app"}
    assert not for_listing & heavy
