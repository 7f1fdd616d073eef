"""Running the real `cmpapi` program in tests: one command, or several side by side, with
a config directory of its own; its output and exit code checked."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support import forkserver
from tests.support.env import child_env

CMPAPI = Path(sys.executable).with_name("cmpapi")


def argv(*args: str) -> list[str]:
    """The installed `cmpapi` program (``python -m`` where no script is installed)."""
    return (
        [str(CMPAPI), *args]
        if CMPAPI.exists()
        else [sys.executable, "-m", "cmpapi.cli.main", *args]
    )


def cmpapi(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmpapi args`` with ``config`` as its config directory (and its cache under
    it); tables 80 wide."""
    env = child_env(CMPAPI_CONFIG_DIR=str(config), CMPAPI_CACHE_DIR=str(config / "cache"))
    env["COLUMNS"] = "80"
    return forkserver.run(argv(*args), env=env, cwd=None, input="", timeout=120)


def cmpapi_many(
    config: Path, calls: dict[str, tuple[str, ...]]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Several independent commands, a few at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(cmpapi, config, *args) for name, args in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return run.stdout


def failed(run: subprocess.CompletedProcess[str], code: int) -> list[str]:
    """The stderr lines of a command that exited with ``code`` (never a traceback)."""
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return run.stderr.splitlines()
