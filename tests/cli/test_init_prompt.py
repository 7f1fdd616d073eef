"""`cmpapi init` on a terminal: it asks for what the options did not give, the password
twice and without echoing it (again when the two differ)."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import subprocess
import termios
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from cmpapi.server.identity.passwords import verify_password
from cmpapi.server.identity.tables import Organization, User
from tests.support.cli import argv
from tests.support.env import child_env

GOOD = "good-pass-123"


class Terminal:
    """The parent side of a pseudo-terminal a child process runs on."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = ""  # since the last answer
        self.transcript = ""  # everything

    def expect(self, text: str, timeout: float = 30) -> None:
        """Read until ``text`` has appeared since the last answer."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {text!r}, saw {self.seen!r}"
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                assert chunk, f"the process ended before {text!r}: {self.seen!r}"
                self.seen += chunk.decode()
                self.transcript += chunk.decode()
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def answer(self, text: str, line: str) -> None:
        self.expect(text)
        os.write(self.fd, (line + "\n").encode())


def _controlling_terminal() -> None:
    # In the child, after setsid: stdin (the pty) becomes its controlling terminal, so the
    # password prompt reads /dev/tty with echo off, as it does for a user.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_init_asks_on_a_terminal(tmp_path: Path, sqlite_template: Path) -> None:
    (tmp_path / "cmpapi-data").mkdir()
    shutil.copy(sqlite_template, tmp_path / "cmpapi-data" / "cmpapi.db")
    parent, child = os.openpty()
    proc = subprocess.Popen(
        argv("init", "--admin-name", "Ann Admin"),
        cwd=tmp_path,
        env=child_env(),
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(child)
    term = Terminal(parent)
    try:
        term.answer("Organization name: ", "Acme")
        term.answer("Admin email: ", "ann@example.com")
        term.answer("Admin password: ", "first-pass-1")
        term.answer("Repeat for confirmation: ", "other-pass-2")
        term.expect("do not match")
        term.answer("Admin password: ", GOOD)
        term.answer("Repeat for confirmation: ", GOOD)
        term.expect("# next: ")
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(parent)
    assert "Admin full name" not in term.transcript  # given as an option
    assert "pass-" not in term.transcript  # no password echoed
    assert "admin_password" not in term.transcript  # typed, so not printed back
    engine = create_engine(f"sqlite:///{tmp_path / 'cmpapi-data' / 'cmpapi.db'}")
    with Session(engine) as db:
        assert db.scalars(sql_select(Organization.name)).one() == "Acme"
        admin = db.scalars(sql_select(User)).one()
        assert (admin.email, admin.full_name, admin.role) == (
            "ann@example.com",
            "Ann Admin",
            "admin",
        )
        assert verify_password(admin.password_hash, GOOD)
    engine.dispose()
