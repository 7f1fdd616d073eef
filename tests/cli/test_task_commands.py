"""``cmpapi workflows import|list`` and ``cmpapi tasks hold|resume|archive|unarchive``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.resources.workflows.tables import Workflow
from tests.support.tasks import create_task, make_workflow
from tests.support.world import World

WORKFLOW = {
    "name": "Legal review",
    "description": "With an external approval",
    "is_flexible_workflow": False,
    "is_not_pushed_to_library_by_default": False,
    "is_released_as_asset": True,
    "labels": [],
    "custom_fields": [],
    "default_channels": [],
    "blacklisted_channels": [],
    "steps": [
        {
            "label": "Draft",
            "description": None,
            "duration": 2,
            "substeps": [
                {
                    "label": "Write",
                    "description": None,
                    "actions": ["findContent"],
                    "is_external": False,
                    "external_system": None,
                }
            ],
        },
        {
            "label": "Approve",
            "description": None,
            "duration": None,
            "substeps": [
                {
                    "label": "Legal",
                    "description": None,
                    "actions": [],
                    "is_external": True,
                    "external_system": "Jira",
                    "external_sub_step_config": {"is_user_interaction_allowed": False},
                }
            ],
        },
    ],
}


@pytest.fixture
def run(database_url: str, tmp_path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        env = {"CMPAPI_DATABASE_URL": database_url, "CMPAPI_DATA_DIR": str(tmp_path)}
        result = runner.invoke(cli, [*args], env=env)
        return result.exit_code, result.output

    return invoke


def test_workflows_import_creates_then_updates(run, db: Session, world: World, tmp_path) -> None:
    path = tmp_path / "workflows.json"
    path.write_text(json.dumps([WORKFLOW]))
    assert run("workflows", "import", str(path), "--dry-run") == (
        0,
        "would be created: Legal review\n",
    )
    assert db.scalars(select(Workflow)).all() == []
    assert run("workflows", "import", str(path)) == (0, "created: Legal review\n")
    assert run("workflows", "import", str(path)) == (0, "created: Copy of Legal review\n")
    assert run("workflows", "import", str(path), "--overwrite") == (0, "updated: Legal review\n")
    names = sorted(w.name for w in db.scalars(select(Workflow)))
    assert names == ["Copy of Legal review", "Legal review"]
    workflow = db.scalars(select(Workflow).where(Workflow.name == "Legal review")).one()
    legal = workflow.steps[1]["sub_steps"][0]
    assert (legal["is_external"], legal["external_system"]) == (True, "Jira")
    assert legal["is_user_interaction_allowed"] is False
    code, out = run("workflows", "list", "-o", "json")
    listed = {w["name"]: w["steps"] for w in json.loads(out)} if code == 0 else out
    assert listed["Legal review"] == ["Draft", "Approve"], out
    path.write_text(json.dumps({**WORKFLOW, "steps": [{"label": "x"}]}))
    code, out = run("workflows", "import", str(path))
    assert code == 1 and "error" in out


def test_hold_and_archive(run, client, db: Session, world: World) -> None:
    task = create_task(client, world, make_workflow(db, world))
    code, out = run("tasks", "hold", task["id"])
    assert (code, out) == (0, f"{task['id']}: On Hold\n")
    got = client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()
    assert got["status"] == "On Hold"
    assert run("tasks", "resume", task["id"]) == (0, f"{task['id']}: Not Started\n")
    assert run("tasks", "archive", task["id"]) == (0, f"{task['id']}: Archived\n")
    got = client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()
    assert got["is_archived"] and got["status"] == "Archived"
    last = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at.desc())).first()
    assert last is not None and last.event_name == "task_metadata_modified"
    assert run("tasks", "unarchive", task["id"])[0] == 0
    assert db.get(Task, task["id"]) is not None
    assert run("tasks", "hold", "nope")[0] == 1
