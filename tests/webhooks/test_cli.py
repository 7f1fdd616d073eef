"""`cmpapi webhooks ...` against both database backends."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cmpapi.cli.main import app as cli
from cmpapi.server.settings import Settings
from tests.webhooks.conftest import WorkerThread, attempts, deliveries, record, webhook
from tests.webhooks.receiver import Receiver, Reply, wait_until

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(database_url: str, tmp_path: Path) -> Run:
    runner = CliRunner()
    env = {
        "CMPAPI_DATABASE_URL": database_url,
        "CMPAPI_DATA_DIR": str(tmp_path),
        "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
        "COLUMNS": "250",
    }

    def invoke(*args: str, unset: tuple[str, ...] = ()) -> tuple[int, str]:
        result = runner.invoke(cli, list(args), env=env | dict.fromkeys(unset))
        return result.exit_code, result.output

    return invoke


def fields(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_create_update_disable_enable_delete(run: Run, engine: Engine, org: str) -> None:
    code, out = run(
        "webhooks",
        "create",
        "--name",
        "Sync",
        "--url",
        "https://h.example.com/x",
        "--event",
        "asset_added",
        "--event",
        "task_added",
        "--secret",
        "abc",
    )
    assert code == 0, out
    created = fields(out)
    assert created["signing_key"].startswith("whsec_")
    assert created["event_names"] == "asset_added,task_added"
    hook_id = created["id"]
    code, out = run("webhooks", "update", hook_id, "--event", "asset_removed", "--no-secret")
    assert code == 0, out
    assert (webhook(engine, hook_id).event_names, webhook(engine, hook_id).secret) == (
        ["asset_removed"],
        None,
    )
    code, out = run("webhooks", "disable", hook_id, "--reason", "maintenance window")
    assert code == 0 and fields(out)["disabled_reason"] == "maintenance window"
    assert run("webhooks", "enable", hook_id)[0] == 0
    assert webhook(engine, hook_id).is_active
    code, out = run("webhooks", "list")
    assert code == 0 and hook_id in out and "Sync" in out
    assert run("webhooks", "delete", hook_id) == (0, f"deleted: {hook_id}\n")
    code, out = run("webhooks", "get-nothing")
    assert code == 2


def test_validation_errors_exit_1(run: Run, org: str) -> None:
    code, out = run(
        "webhooks",
        "create",
        "--name",
        "x",
        "--url",
        "http://h.example.com/",
        "--event",
        "asset_added",
    )
    assert code == 1 and "Invalid webhook" in out
    assert "callback_url: Must be an https URL (plain http only to loopback hosts)" in out
    code, out = run(
        "webhooks", "create", "--name", "x", "--url", "https://h.example.com/", "--event", "nope"
    )
    assert code == 1
    assert "event_names: Unknown event names: nope" in out


def test_a_refused_target_names_the_setting_that_allows_it(run: Run, org: str) -> None:
    unset = ("CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS", "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK")
    create = ("webhooks", "create", "--name", "x", "--event", "asset_added", "--url")
    code, out = run(*create, "http://127.0.0.1:9000/hook", unset=unset)
    assert code == 1, out
    assert out.startswith("error: Invalid webhook\n  callback_url: Must be an https URL")
    assert "set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true" in out
    code, out = run(*create, "https://localhost:9000/hook", unset=unset)  # DNS: ::1, 127.0.0.1
    assert code == 1 and "loopback address; set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true" in out
    code, out = run(*create, "https://192.168.0.10/hook", unset=unset)
    assert code == 1 and "private address; set CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in out
    # The loopback setting alone (on in demo mode) is enough for a local receiver.
    unset = ("CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS",)
    code, out = run(*create, "http://127.0.0.1:9000/hook", unset=unset)
    assert code == 0, out
    code, out = run("webhooks", "enable", "0" * 32)
    assert code == 1 and "not found" in out


def test_deliveries_attempts_redeliver_ping_and_tail(
    run: Run,
    wh_settings: Settings,
    engine: Engine,
    session: Session,
    org: str,
    receiver: Receiver,
) -> None:
    receiver.always("/hook", Reply(500, body=b"down"))
    code, out = run(
        "webhooks", "create", "--name", "Sync", "--url", receiver.url(), "--event", "asset_added"
    )
    assert code == 0, out
    hook_id = fields(out)["id"]
    record(session, org)
    with WorkerThread(wh_settings):
        wait_until(lambda: [d.status for d in deliveries(engine)] == ["failed"])
        [delivery] = deliveries(engine)
        code, out = run("webhooks", "deliveries", hook_id, "--status", "failed")
        assert code == 0 and delivery.id in out and "4/4" in out
        code, out = run("webhooks", "attempts", hook_id, "--limit", "2")
        assert code == 0 and out.count("HTTP 500") == 2

        receiver.always("/hook", Reply(200))
        assert run("webhooks", "redeliver", delivery.id) == (0, f"queued: {delivery.id}\n")
        wait_until(lambda: [d.status for d in deliveries(engine)] == ["succeeded"])
        code, out = run("webhooks", "ping", hook_id)
        assert code == 0 and out.startswith("queued: ")
        wait_until(lambda: len(attempts(engine)) == 6)
        code, out = run("webhooks", "redeliver-failed", hook_id, "--since", "2000-01-01")
        assert (code, out) == (0, "queued: 0\n")

    code, out = run("webhooks", "tail", "--once", "--limit", "3")
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 3
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Sync ping \w{32} #1 200 \d+ms ok", lines[-1])
    assert " asset_added " in lines[0] and " 500 " in lines[0]
    code, out = run("webhooks", "tail", "--once", "--webhook", hook_id)
    assert code == 0 and len(out.splitlines()) == 6
