"""``cmpapi templates import|list``: the Settings shapes, by name, as updateSettings."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.resources.templates.tables import RoutingRule, Template
from tests.support.work_requests import TEMPLATE
from tests.support.world import World

RULE = {
    "name": "To design",
    "description": "",
    "template_name": "Campaign request",
    "watchers": [],
    "rules": [],
}


@pytest.fixture
def run(database_url: str, tmp_path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        env = {"CMPAPI_DATABASE_URL": database_url, "CMPAPI_DATA_DIR": str(tmp_path)}
        result = runner.invoke(cli, [*args], env=env)
        return result.exit_code, result.output

    return invoke


def test_templates_import_and_list(run, db: Session, world: World, tmp_path) -> None:
    one = tmp_path / "template.json"
    one.write_text(json.dumps(TEMPLATE))
    assert run("templates", "import", str(one), "--dry-run") == (
        0,
        "template would be created: Campaign request\n",
    )
    assert db.scalars(select(Template)).all() == []
    assert run("templates", "import", str(one)) == (0, "template created: Campaign request\n")
    document = tmp_path / "settings.json"
    changed = {**copy.deepcopy(TEMPLATE), "description": "New"}
    document.write_text(
        json.dumps({"resources": {"templates": [changed], "routing_rules": [RULE]}})
    )
    assert run("templates", "import", str(document)) == (
        0,
        "template updated: Campaign request\nrouting rule created: To design\n",
    )
    db.expire_all()
    (row,) = db.scalars(select(Template)).all()
    assert row.description == "New" and row.source == changed
    assert [r.name for r in db.scalars(select(RoutingRule))] == ["To design"]
    code, out = run("templates", "list", "-o", "json")
    assert code == 0 and [t["title"] for t in json.loads(out)] == ["Campaign request"], out
    one.write_text(json.dumps({**TEMPLATE, "types": ["nowhere"]}))
    code, out = run("templates", "import", str(one))
    assert code == 1 and "error" in out.lower()
