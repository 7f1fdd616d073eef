"""Running the installed ``cmpapi`` command's local commands as a child process, as an
administrator would: in a directory of its own, with only the settings a test names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support import forkserver
from tests.support.cli import argv
from tests.support.env import child_env


@dataclass(frozen=True)
class Ran:
    """What one run printed and how it ended."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def cmpapi(*args: str, cwd: Path, stdin: str | None = None, **settings: str) -> Ran:
    """Run ``cmpapi ARGS`` in ``cwd`` with only the ``CMPAPI_*`` settings given (and the
    tests' low password hash cost); tables 80 columns wide."""
    proc = forkserver.run(
        argv(*args),
        cwd=cwd,
        env=child_env(COLUMNS="80", **settings),
        input=stdin if stdin is not None else "",
        timeout=60,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def fields(out: str) -> dict[str, str]:
    """The ``key: value`` lines of a command's output."""
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line and line[0] != "#")
