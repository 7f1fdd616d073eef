"""The CLI's manners when things go wrong, as a user running the installed command sees
them: one ``error:`` line (and the field errors that say why), never a traceback, and the
documented exit codes: 1 the command failed, 2 it was used wrongly (docs/cli.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.env import child_env
from tests.support.local_cli import Ran, cmpapi, fields

PASSWORD = "pw-for-tests-1"


def expect(ran: Ran, code: int, *words: str) -> None:
    """Exit ``code``, every one of ``words`` on stderr, no traceback anywhere."""
    assert ran.code == code, ran.both
    assert "Traceback" not in ran.both
    for word in words:
        assert word in ran.err, ran.err


def test_errors_are_one_line_with_the_documented_exit_code(
    tmp_path: Path, sqlite_template: Path
) -> None:
    home = tmp_path / "home"
    (home / "cmpapi-data").mkdir(parents=True)
    shutil.copy(sqlite_template, home / "cmpapi-data" / "cmpapi.db")
    made = cmpapi(
        "init",
        "--org-name",
        "Acme",
        "--admin-email",
        "ann@example.com",
        "--admin-name",
        "Ann",
        "--app",
        "Connector",
        "--password-stdin",
        cwd=home,
        stdin=PASSWORD,
    )
    assert made.code == 0, made.both
    client_id = fields(made.out)["client_id"]

    # Failed (1): unknown ids, a conflict, invalid input with its field errors.
    expect(cmpapi("users", "show", "nobody@example.com", cwd=home), 1, "No user nobody@")
    expect(cmpapi("apps", "rotate-secret", "nope", cwd=home), 1, "No app nope")
    last_admin = cmpapi("users", "set-role", "ann@example.com", "member", cwd=home)
    expect(last_admin, 1, "only active admin", "cmpapi users set-role USER admin")
    dup = cmpapi("users", "create", "--email", "ANN@example.com", "--name", "Ann 2", cwd=home)
    expect(dup, 1, "already exists")
    bad_uri = cmpapi("apps", "set-redirect-uris", client_id, "ftp://x/cb", cwd=home)
    expect(bad_uri, 1, "Redirect URIs must be absolute", "\n  redirect_uri: ftp://x/cb")
    bad_setting = cmpapi("users", "list", cwd=home, CMPAPI_DB_POOL_SIZE="many")
    expect(bad_setting, 1, "Invalid settings", "\n  CMPAPI_DB_POOL_SIZE: ")
    expect(
        cmpapi("users", "list", "--database-url", "nodb://x", cwd=home), 1, "invalid database URL"
    )
    nowhere = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    expect(cmpapi("apps", "list", "--database-url", nowhere, cwd=home), 1, "database ")

    # Used wrongly (2): options the command does not take or values it does not accept.
    expect(cmpapi("users", "list", "--output", "xml", cwd=home), 2, "xml")
    expect(cmpapi("teams", "list", "--bogus", cwd=home), 2, "--bogus")
    expect(cmpapi("apps", "set-redirect-uris", client_id, cwd=home), 2, "Missing argument")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    both = cmpapi("init", "--password-stdin", "--generate-password", cwd=fresh)
    expect(both, 2, "exclude each other")
    no_terminal = cmpapi("init", "--org-name", "A", "--admin-email", "a@example.com", cwd=fresh)
    expect(no_terminal, 2, "no terminal to ask on: give --admin-name, --password-stdin or")
    assert list(fresh.iterdir()) == []


# A command that fails in a way no command expects (here: a bug planted in a child process).
BROKEN = """
import sys
from cmpapi.cli.main import app, main
app.command("boom")(lambda: {}["missing"])
sys.argv = ["cmpapi", "boom"]
main()
"""


def test_an_unexpected_error_is_one_line_too(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", BROKEN],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: unexpected KeyError: 'missing' (if it persists")
