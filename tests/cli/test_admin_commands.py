"""`cmpapi init`, `users`, `teams` and `apps` as real processes (the installed command, in
a directory of their own): setting up an installation once, the administration commands,
listings (`--output json`, whole ids at 80 columns), and read-only commands that neither
create nor migrate a database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.identity.passwords import verify_password
from cmpapi.server.identity.tables import Organization, Team, User
from cmpapi.server.oauth.secrets import hash_secret
from cmpapi.server.oauth.tables import OAuthApp
from tests.conftest import PG_AVAILABLE, PG_URL, empty_postgres
from tests.support.local_cli import Ran, cmpapi, fields

NO_ID = "0" * 32
PASSWORD = "pw-for-tests-1"


def ok(ran: Ran) -> Ran:
    assert ran.code == 0, ran.both
    assert "Traceback" not in ran.both
    return ran


def refused(ran: Ran, code: int, *words: str) -> None:
    """Exit ``code`` with one error line naming ``words``, never a traceback."""
    assert ran.code == code, ran.both
    assert "Traceback" not in ran.both
    assert ran.err.startswith("error: "), ran.both
    for word in words:
        assert word in ran.err, ran.err


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty working directory: the default data directory is ./cmpapi-data in it."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def engine(home: Path) -> Iterator[Engine]:
    """The installation's SQLite database, for looking at what the commands did."""
    engine = create_engine(f"sqlite:///{home / 'cmpapi-data' / 'cmpapi.db'}")
    yield engine
    engine.dispose()


def init(home: Path, *extra: str, stdin: str = PASSWORD + "\n", **settings: str) -> Ran:
    return cmpapi(
        "init",
        "--org-name",
        "Acme",
        "--admin-email",
        "Ann@Example.com",
        "--admin-name",
        "Ann Admin",
        "--password-stdin",
        *extra,
        cwd=home,
        stdin=stdin,
        **settings,
    )


def test_init_sets_up_an_installation_once(home: Path, engine: Engine) -> None:
    made = ok(
        cmpapi(
            "init",
            "--org-name",
            "Acme",
            "--admin-email",
            "Ann@Example.com",
            "--admin-name",
            "Ann Admin",
            "--generate-password",
            "--app",
            "Connector",
            "--redirect-uri",
            "https://c.example.com/cb",
            cwd=home,
        )
    )
    shown = fields(made.out)
    assert shown["organization"].endswith(" (Acme)")
    assert "shown once" in made.out
    with Session(engine) as db:
        org = db.scalars(select(Organization)).one()
        admin = db.scalars(select(User)).one()
        app = db.scalars(select(OAuthApp)).one()
        assert shown["organization"] == f"{org.id} (Acme)"
        assert shown["admin"] == f"{admin.id} (ann@example.com)"
        assert (admin.org_id, admin.role, admin.full_name) == (org.id, "admin", "Ann Admin")
        assert verify_password(admin.password_hash, shown["admin_password"])
        assert len(shown["admin_password"]) >= 16
        assert app.client_id == shown["client_id"]
        assert app.client_secret_hash == hash_secret(shown["client_secret"])
        assert (app.token_user_id, app.redirect_uris) == (admin.id, ["https://c.example.com/cb"])

    again = init(home)
    refused(again, 1, "Already initialized", org.id, "cmpapi users create")
    with Session(engine) as db:
        assert db.scalar(select(Organization.id)) == org.id
        assert len(db.scalars(select(User)).all()) == 1


def test_users_teams_and_apps(home: Path, engine: Engine, sqlite_template: Path) -> None:
    (home / "cmpapi-data").mkdir()
    shutil.copy(sqlite_template, home / "cmpapi-data" / "cmpapi.db")  # migrated already
    ok(init(home, "--app", "Connector", "--redirect-uri", "https://c.example.com/cb"))
    member_id = fields(
        ok(
            cmpapi(
                "users",
                "create",
                "--email",
                "mia@example.com",
                "--name",
                "Mia Member-With-A-Long-Name",
                cwd=home,
            )
        ).out
    )["id"]
    team_id = fields(
        ok(
            cmpapi("teams", "create", "--name", "Squad", "--member", "mia@example.com", cwd=home)
        ).out
    )["id"]

    users = json.loads(ok(cmpapi("users", "list", "--output", "json", cwd=home)).out)
    assert [set(u) for u in users] == [set(USER_KEYS)] * 2
    # Oldest first; created_at has whole seconds, so two users made in one second tie.
    assert sorted((u["email"], u["role"], u["is_active"]) for u in users) == [
        ("ann@example.com", "admin", True),
        ("mia@example.com", "member", True),
    ]
    shown = json.loads(ok(cmpapi("users", "show", "MIA@example.com", "-o", "json", cwd=home)).out)
    mia = next(u for u in users if u["email"] == "mia@example.com")  # either place on a tie
    assert shown == mia | {"team_ids": [team_id]}
    team = json.loads(ok(cmpapi("teams", "show", team_id, "-o", "json", cwd=home)).out)
    assert team["members"] == [
        {
            "id": member_id,
            "email": "mia@example.com",
            "name": "Mia Member-With-A-Long-Name",
            "is_active": True,
        }
    ]
    _apps(home, engine)
    _deleting_users_and_teams(home, engine, member_id, team_id)


USER_KEYS = ("id", "org_id", "email", "username", "name", "role", "is_active", "created_at")


def _apps(home: Path, engine: Engine) -> None:
    with Session(engine) as db:
        app = db.scalars(select(OAuthApp)).one()
    table = ok(cmpapi("apps", "list", cwd=home)).out
    assert max(len(line) for line in table.splitlines()) <= 80
    assert app.client_id in table  # whole, on one line
    rotated = fields(ok(cmpapi("apps", "rotate-secret", app.client_id, cwd=home)).out)
    ok(
        cmpapi(
            "apps",
            "set-redirect-uris",
            app.id,
            "https://a.example.com/1",
            "http://localhost:8000/cb",
            cwd=home,
        )
    )
    refused(cmpapi("apps", "delete", app.id, cwd=home), 1, "deactivate it first")
    assert "deactivated" in ok(cmpapi("apps", "deactivate", app.client_id, cwd=home)).out
    with Session(engine) as db:
        row = db.get(OAuthApp, app.id)
        assert row is not None and row.client_secret_hash == hash_secret(rotated["client_secret"])
        assert row.redirect_uris == ["https://a.example.com/1", "http://localhost:8000/cb"]
        assert row.is_active is False
    listed = json.loads(ok(cmpapi("apps", "list", "-o", "json", cwd=home)).out)
    assert listed[0]["is_active"] is False and "client_secret" not in json.dumps(listed)
    ok(cmpapi("apps", "delete", app.id, cwd=home))
    with Session(engine) as db:
        assert db.get(OAuthApp, app.id) is None


def _deleting_users_and_teams(home: Path, engine: Engine, member_id: str, team_id: str) -> None:
    with Session(engine) as db:
        admin_id = db.scalars(select(User.id).where(User.role == "admin")).one()
    refused(cmpapi("users", "deactivate", admin_id, cwd=home), 1, "only active admin")
    assert ok(cmpapi("users", "set-role", "mia@example.com", "viewer", cwd=home)).out == (
        f"{member_id}: viewer\n"
    )
    refused(cmpapi("users", "delete", member_id, cwd=home), 1, "deactivate them first")
    ok(
        cmpapi(
            "apps",
            "create",
            "--name",
            "Bot",
            "--redirect-uri",
            "https://b.example.com/cb",
            "--token-user",
            "mia@example.com",
            cwd=home,
        )
    )
    ok(cmpapi("users", "deactivate", "mia@example.com", cwd=home))
    # The Bot app acts as her: deleting her would leave it acting as nobody.
    refused(cmpapi("users", "delete", member_id, cwd=home), 1, "oauth_apps.token_user_id")
    with Session(engine) as db:
        db.execute(text("UPDATE oauth_apps SET token_user_id = NULL"))
        db.commit()
    assert ok(cmpapi("users", "delete", member_id, cwd=home)).out == f"deleted: {member_id}\n"
    assert ok(cmpapi("teams", "delete", team_id, cwd=home)).out == (
        f"deleted: {team_id} (0 memberships)\n"
    )
    with Session(engine) as db:
        assert db.get(User, member_id) is None and db.get(Team, team_id) is None


# Every command that only reads, with the arguments it needs (the values need not exist).
READ_ONLY = [
    ["users", "list"],
    ["users", "show", "x@example.com"],
    ["teams", "list", "-o", "json"],
    ["teams", "show", NO_ID],
    ["apps", "list"],
    ["apps", "show", NO_ID],
    ["jobs", "list"],
    ["webhooks", "list"],
    ["webhooks", "deliveries", NO_ID],
    ["webhooks", "attempts", NO_ID],
    ["webhooks", "tail", "--once"],
    ["renditions", "list-configs"],
    ["publishing", "channels", "list"],
    ["workflows", "list"],
    ["templates", "list", "-o", "json"],
]


@pytest.fixture
def run_here(home: Path, monkeypatch: pytest.MonkeyPatch):
    """The CLI in this process, in ``home``, with no database setting from outside."""
    monkeypatch.chdir(home)

    def invoke(*args: str) -> Ran:
        result = CliRunner().invoke(
            cli, list(args), env={"CMPAPI_DATABASE_URL": None, "CMPAPI_DATA_DIR": None}
        )
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return invoke


def test_read_only_commands_leave_an_empty_directory_empty(home: Path, run_here) -> None:
    for command in READ_ONLY:
        refused(run_here(*command), 1, "no database at", "`cmpapi init`")
        assert list(home.iterdir()) == [], command
    # The installed command, with the two other ways of naming a database.
    refused(cmpapi("users", "list", "--data-dir", "data", cwd=home), 1, "no database at")
    named = cmpapi("jobs", "list", "--database-url", "sqlite:///sub/x.db", cwd=home)
    refused(named, 1, "no database at sub/x.db")
    assert list(home.iterdir()) == []


def test_read_only_commands_need_the_migration_head(
    home: Path, sqlite_template: Path, run_here
) -> None:
    data = home / "cmpapi-data"
    data.mkdir()
    shutil.copy(sqlite_template, data / "cmpapi.db")
    previous = _set_revision(data / "cmpapi.db", "a1e4c9d2b7f3")
    refused(
        run_here("users", "list"),
        1,
        f"at migration {previous}",
        "not at the head: run `cmpapi db upgrade`",
    )
    _set_revision(data / "cmpapi.db", "feedfacecafe")
    refused(run_here("teams", "list"), 1, "feedfacecafe", "upgrade cmpapi")
    refused(run_here("db", "upgrade"), 1, "feedfacecafe", "upgrade cmpapi")
    (data / "cmpapi.db").unlink()
    (data / "cmpapi.db").touch()
    before = sorted(p.name for p in data.iterdir())
    for command in READ_ONLY:
        refused(run_here(*command), 1, "not set up (no tables)", "cmpapi db upgrade")
    assert sorted(p.name for p in data.iterdir()) == before
    assert (data / "cmpapi.db").stat().st_size == 0


def _set_revision(path: Path, revision: str) -> str:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()
    return revision


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (no tables); dropped at the end."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL not reachable")
    name = f"cmpapi_cli_{new_suffix()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_suffix() -> str:
    from cmpapi.server.db.base import new_id

    return new_id()[:12]


@pytest.mark.postgres
def test_database_url_on_postgres(home: Path, fresh_postgres: str, pg_database: str) -> None:
    refused(
        cmpapi("users", "list", "--database-url", fresh_postgres, cwd=home),
        1,
        "not set up (no tables)",
        "cmpapi db upgrade",
    )
    empty_postgres(pg_database)  # migrated, no rows
    ok(init(home, "--database-url", pg_database))
    users = json.loads(
        ok(cmpapi("users", "list", "-o", "json", cwd=home, CMPAPI_DATABASE_URL=pg_database)).out
    )
    assert [(u["email"], u["role"]) for u in users] == [("ann@example.com", "admin")]
    assert list(home.iterdir()) == []  # no ./cmpapi-data made on the way
