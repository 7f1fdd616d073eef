"""The server-side CLI commands, run in-process against both database backends."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server import demo
from cmpapi.server.identity.tables import Team, User
from cmpapi.server.oauth.secrets import hash_secret
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.campaigns.tables import Campaign
from cmpapi.server.resources.subresources.tables import Brief
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.resources.templates.tables import Template
from cmpapi.server.resources.work_requests.tables import WorkRequest, WorkRequestRelatedResource
from cmpapi.server.resources.workflows.tables import Workflow
from tests.support.world import World


@pytest.fixture
def run(database_url: str, tmp_path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            cli,
            [*args],
            env={"CMPAPI_DATABASE_URL": database_url, "CMPAPI_DATA_DIR": str(tmp_path)},
        )
        return result.exit_code, result.output

    return invoke


def test_db_upgrade_is_idempotent(run) -> None:
    assert run("db", "upgrade") == (0, "database is up to date\n")
    assert run("db", "upgrade")[0] == 0


def test_users_teams_and_apps(run, db: Session, world: World) -> None:
    code, out = run(
        "users",
        "create",
        "--email",
        "New@Example.com",
        "--name",
        "New Person",
        "--password",
        "pw-123456",
        "--role",
        "viewer",
    )
    assert code == 0, out
    user_id = re.fullmatch(r"id: ([0-9a-f]{32})\n", out).group(1)  # type: ignore[union-attr]
    user = db.get(User, user_id)
    assert (user.email, user.first_name, user.last_name, user.role) == (
        "new@example.com",
        "New",
        "Person",
        "viewer",
    )

    code, out = run(
        "teams",
        "create",
        "--name",
        "Squad",
        "--member",
        "new@example.com",
        "--member",
        "admin@example.com",
    )
    assert code == 0, out
    team = db.scalars(select(Team).where(Team.name == "Squad")).one()
    assert sorted(m.user_id for m in team.members) == sorted([user_id, world.users["admin"].id])

    code, out = run(
        "apps",
        "create",
        "--name",
        "Connector",
        "--redirect-uri",
        "https://c.example.com/cb",
        "--token-user",
        "new@example.com",
    )
    assert code == 0, out
    creds = dict(line.split(": ", 1) for line in out.splitlines())
    app = db.scalars(select(OAuthApp).where(OAuthApp.client_id == creds["client_id"])).one()
    assert app.client_secret_hash == hash_secret(creds["client_secret"])
    assert (app.token_user_id, app.redirect_uris) == (user_id, ["https://c.example.com/cb"])


def test_bad_input_fails_cleanly(run, world: World) -> None:
    code, out = run("users", "create", "--email", "admin@example.com", "--name", "Dup")
    assert code == 1 and "already exists" in out
    code, out = run("users", "create", "--email", "x@example.com", "--name", "X", "--role", "god")
    assert code == 1 and "Unknown role" in out
    code, out = run("teams", "create", "--name", "T", "--member", "ghost@example.com")
    assert code == 1 and "Unknown member" in out
    code, out = run("apps", "create", "--name", "A", "--redirect-uri", "ftp://x")
    assert code == 1 and "Redirect URIs" in out


def test_demo_seed_is_deterministic_and_idempotent(run, db: Session) -> None:
    code, first = run("demo", "seed")
    assert code == 0, first
    assert run("demo", "seed") == (0, first)
    lines = dict(
        line.split(": ", 1)
        for line in first.splitlines()
        if ": " in line and not line.startswith(("#", "TOKEN", "curl"))
    )
    assert lines["client_id"] == demo.CLIENT_ID
    assert lines["client_secret"] == demo.CLIENT_SECRET
    assert lines["user_email"] == demo.ADMIN_EMAIL
    admin = db.get(User, demo.demo_id("user:ada.admin"))
    assert admin is not None and admin.email == demo.ADMIN_EMAIL
    assert db.get(Team, demo.demo_id("team:Marketing")) is not None
    legal = db.get(Workflow, demo.demo_id("workflow:Legal review with Jira"))
    assert legal is not None
    approval = legal.steps[1]["sub_steps"][1]
    assert approval["id"] == demo.demo_id("workflow:Legal review with Jira:1:1")
    assert (approval["external_system"], approval["is_user_interaction_allowed"]) == ("Jira", False)


def test_rendition_configs(run, db: Session, world: World) -> None:
    from cmpapi.server.resources.library.tables import RenditionConfig

    code, out = run(
        "renditions",
        "create-config",
        "--name",
        "thumb",
        "--width",
        "64",
        "--format",
        "png",
        "--quality",
        "90",
    )
    assert code == 0, out
    config = db.scalars(select(RenditionConfig)).one()
    assert (config.name, config.width, config.height, config.output_format) == (
        "thumb",
        64,
        None,
        "png",
    )
    code, out = run("renditions", "create-config", "--name", "x", "--format", "bmp")
    assert code == 1 and "output_format" in out
    code, out = run("renditions", "list-configs")
    assert code == 0 and "thumb" in out


def test_demo_seed_plans_campaigns_events_and_work_requests(run, db: Session) -> None:
    assert run("demo", "seed")[0] == 0
    spring = db.get(Campaign, demo.demo_id("campaign:Spring launch"))
    assert spring is not None and db.get(Campaign, demo.demo_id("campaign:Always on"))
    assert db.get(Brief, ("campaign", spring.id)) is not None
    party = db.get(CalendarEvent, demo.demo_id("event:Launch party"))
    assert party is not None and party.campaign_id == spring.id
    template = db.get(Template, demo.demo_id("template:Content request"))
    assert template is not None
    assert {f["type"] for f in template.form_fields} >= {"text", "dropdown", "checkbox", "file"}
    requests = db.scalars(select(WorkRequest).order_by(WorkRequest.number)).all()
    assert [r.status for r in requests] == ["Submitted", "Accepted", "Declined"]
    (started,) = db.scalars(select(WorkRequestRelatedResource)).all()
    assert started.work_request_id == demo.demo_id("work-request:Product launch blog post")
    task = db.get(Task, started.resource_id)
    assert task is not None and task.title == "Product launch blog post"
    assert db.get(Brief, ("task", task.id)) is not None


def test_demo_seed_has_structured_content(run, db: Session) -> None:
    from cmpapi.server.resources.structured_content.tables import (
        Content,
        ContentType,
        ContentTypeVersion,
    )

    assert run("demo", "seed")[0] == 0
    article = db.get(ContentType, demo.demo_id("sc-type:Article"))
    assert article is not None and db.get(ContentType, demo.demo_id("sc-type:Author"))
    versions = db.scalars(
        select(ContentTypeVersion)
        .where(ContentTypeVersion.content_type_id == article.id)
        .order_by(ContentTypeVersion.sequence)
    ).all()
    assert [v.id for v in versions] == [
        demo.demo_id("sc-type-version:Article:1"),
        demo.demo_id("sc-type-version:Article:2"),
    ]
    assert article.latest_version_id == versions[1].id
    faq = db.get(Content, demo.demo_id("sc-content:Pricing FAQ"))
    launch = db.get(Content, demo.demo_id("sc-content:Spring launch"))
    assert faq is not None and launch is not None
    assert (faq.content_type_version_id, launch.content_type_version_id) == (
        versions[0].id,
        versions[1].id,
    )
    library = select(func.count()).select_from(Content).where(Content.task_id.is_(None))
    assert faq.asset_id == faq.id and db.scalar(library) == 3  # and one in a task
