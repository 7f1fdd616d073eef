"""Every local command with ``--org``, on a database with two organizations: without
``--org`` (or with an unknown one) it fails with one line listing the organizations, never
a traceback; ``--org`` takes an id or a name."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Team

ID = "0" * 32
# Every command's required arguments (the values need not exist: the organization is
# resolved first).
ARGS = {
    "users create": ["--email", "n@example.com", "--name", "N"],
    "users list": [],
    "teams create": ["--name", "T"],
    "teams list": [],
    "apps create": ["--name", "A", "--redirect-uri", "https://a.example.com/cb"],
    "apps list": [],
    "labels create-group": ["--name", "G", "--value", "v"],
    "renditions create-config": ["--name", "thumb", "--width", "64"],
    "renditions list-configs": [],
    "workflows import": ["{workflows}"],
    "workflows list": [],
    "templates import": ["{workflows}"],
    "templates list": [],
    "tasks hold": [ID],
    "tasks resume": [ID],
    "tasks archive": [ID],
    "tasks unarchive": [ID],
    "tasks preview": [ID, ID],
    "webhooks list": [],
    "webhooks create": ["--name", "W", "--url", "https://192.0.2.1/h", "--event", "task_added"],
    "webhooks update": [ID],
    "webhooks disable": [ID],
    "webhooks enable": [ID],
    "webhooks delete": [ID],
    "webhooks deliveries": [ID],
    "webhooks attempts": [ID],
    "webhooks redeliver": [ID],
    "webhooks redeliver-failed": [ID, "--since", "2030-01-01"],
    "webhooks ping": [ID],
    "webhooks tail": ["--once"],
    "publishing channels add": ["Blog"],
    "publishing channels list": [],
    "publishing channels disable": [ID],
    "publishing channels enable": [ID],
    "publishing publish": [ID, "--channel", ID],
    "publishing withdraw": [ID, "--channel", ID],
}


def commands_with_org() -> set[str]:
    found: set[str] = set()

    def walk(command: object, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        if any("--org" in getattr(p, "opts", ()) for p in getattr(command, "params", ())):
            found.add(" ".join(path))

    walk(typer.main.get_command(cli), [])
    return found


@pytest.fixture
def two_orgs(db: Session) -> list[tuple[str, str]]:
    orgs = [identity.create_organization(db, name) for name in ("Acme", "Beta")]
    db.commit()
    return [(org.id, org.name) for org in orgs]


@pytest.fixture
def run(database_url: str, tmp_path: Path):
    workflows = tmp_path / "workflows.json"
    workflows.write_text("[]")

    def invoke(command: str, *extra: str) -> tuple[int, str]:
        args = [a.format(workflows=workflows) for a in ARGS[command]]
        result = CliRunner().invoke(
            cli,
            [*command.split(), *args, *extra],
            env={"CMPAPI_DATABASE_URL": database_url, "CMPAPI_DATA_DIR": str(tmp_path)},
        )
        return result.exit_code, result.output

    return invoke


def test_the_table_covers_every_command_with_org() -> None:
    assert commands_with_org() == set(ARGS)


def test_without_org_every_command_lists_the_organizations(
    run, two_orgs: list[tuple[str, str]], subtests: pytest.Subtests
) -> None:
    for command in ARGS:
        with subtests.test(command=command):
            code, out = run(command)
            assert code == 2, out
            assert "Traceback" not in out
            lines = out.strip().splitlines()
            assert len(lines) == 1, out
            assert lines[0].startswith("error: several organizations, choose one with --org")
            for org_id, name in two_orgs:
                assert f"{org_id} ({name})" in lines[0]


def test_an_unknown_org_is_refused_the_same_way(
    run, two_orgs: list[tuple[str, str]], subtests: pytest.Subtests
) -> None:
    for command in ("users create", "renditions list-configs", "webhooks list", "tasks hold"):
        with subtests.test(command=command):
            code, out = run(command, "--org", "nope")
            assert code == 2, out
            assert out.startswith("error: --org nope: no such organization; organizations: ")
            assert two_orgs[0][0] in out and len(out.strip().splitlines()) == 1


def test_org_takes_an_id_or_a_name(run, two_orgs: list[tuple[str, str]], db: Session) -> None:
    beta_id = two_orgs[1][0]
    code, out = run("users create", "--org", "beta")
    assert code == 0, out
    code, out = run("teams create", "--org", beta_id)
    assert code == 0, out
    user = identity.find_user_by_login(db, "n@example.com")
    assert user is not None and user.org_id == beta_id
    assert db.scalars(select(Team.org_id).where(Team.name == "T")).one() == beta_id


def test_no_organization_yet_says_how_to_make_one(run) -> None:
    code, out = run("workflows list")
    assert code == 2
    assert out.strip() == "error: no organization yet (`cmpapi init` creates one)"
