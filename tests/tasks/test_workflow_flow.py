"""createTask from a workflow and the sub-step state machine over HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from tests.support.tasks import app_token, create_task, make_workflow, sub_step_url
from tests.support.world import World


def names(db: Session) -> list[str]:
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    return [r.event_name for r in rows]


def patch(client: Any, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.patch(url, json=body, headers=headers)


def test_a_task_walks_its_workflow(client, db: Session, world: World) -> None:
    wf = make_workflow(db, world)
    task = create_task(client, world, wf, start_at="2030-01-01T00:00:00Z")
    assert task["status"] == "Not Started"
    assert [s["title"] for s in task["steps"]] == ["Create", "External", "Publish"]
    assert task["steps"][0]["due_at"] == "2030-01-03T00:00:00Z"
    write, review = task["steps"][0]["sub_steps"]
    assert not write["is_in_progress"] and not write["is_completed"]
    assert not review["is_in_progress"] and not review["is_completed"]
    auth = world.auth("member")
    r = patch(client, sub_step_url(task, 0, 1), {"is_completed": True}, auth)
    assert r.status_code == 422 and "before" in r.json()["message"]
    r = patch(client, sub_step_url(task, 0, 0), {"is_in_progress": True}, auth)
    assert r.status_code == 200 and r.json()["is_in_progress"]
    again = patch(client, sub_step_url(task, 0, 0), {"is_in_progress": True}, auth)
    assert again.status_code == 422
    got = client.get(f"/v3/tasks/{task['id']}", headers=auth).json()
    assert got["status"] == "In Progress"
    assert patch(client, sub_step_url(task, 0, 0), {"is_completed": True}, auth).status_code == 200
    assert patch(client, sub_step_url(task, 0, 1), {"is_skipped": True}, auth).status_code == 200
    got = client.get(f"/v3/tasks/{task['id']}", headers=auth).json()
    assert got["steps"][0]["is_completed"]
    ticket = got["steps"][1]["sub_steps"][0]
    assert ticket["is_external"] and ticket["is_in_progress"]
    assert ticket["links"]["external_work"].endswith("/external-work")
    # The ticket allows user interaction; the legal approval does not.
    assert patch(client, sub_step_url(got, 1, 0), {"is_completed": True}, auth).status_code == 200
    refused = patch(client, sub_step_url(got, 1, 1), {"is_completed": True}, auth)
    assert refused.status_code == 403 and "Jira" in refused.json()["message"]
    jira = app_token(db, world, "Jira")
    assert patch(client, sub_step_url(got, 1, 1), {"is_completed": True}, jira).status_code == 200
    assert patch(client, sub_step_url(got, 2, 0), {"is_completed": True}, auth).status_code == 200
    done = client.get(f"/v3/tasks/{task['id']}", headers=auth).json()
    assert done["status"] == "Completed" and done["is_completed"]
    late = patch(client, sub_step_url(got, 2, 0), {"is_skipped": True}, auth)
    assert late.status_code == 422
    assert names(db) == [
        "task_added",
        "workflow_sub_step_updated",  # write started
        "workflow_sub_step_updated",  # write completed
        "workflow_sub_step_updated",  # review skipped
        "workflow_sub_step_updated",
        "external_sub_step_started",  # ticket reached
        "workflow_sub_step_updated",
        "external_sub_step_completed",  # ticket completed
        "workflow_sub_step_updated",
        "external_sub_step_started",  # legal reached
        "workflow_sub_step_updated",
        "external_sub_step_completed",  # legal completed
        "workflow_sub_step_updated",
        "task_metadata_modified",  # go live; task completed
    ]


def test_external_work_link_and_read_back(client, db: Session, world: World) -> None:
    wf = make_workflow(db, world)
    task = create_task(client, world, wf)
    auth = world.auth()
    for n in range(2):
        patch(client, sub_step_url(task, 0, n), {"is_completed": True}, auth)
    url = sub_step_url(task, 1, 0) + "/external-work"
    jira = app_token(db, world, "Jira")
    body = {
        "identifier": "MKT-1",
        "title": "Spring",
        "status": "Open",
        "url": "https://jira.example.com/MKT-1",
    }
    r = patch(client, url, body, jira)
    assert r.status_code == 200, r.text
    assert r.json()["external_system"] == "Jira" and r.json()["identifier"] == "MKT-1"
    assert patch(client, url, {"url": "http://jira.example.com/x"}, jira).status_code == 422
    assert patch(client, url, {"identifier": "x" * 51}, jira).status_code in (400, 422)
    other = app_token(db, world, "Trello")
    assert patch(client, url, {"status": "Done"}, other).status_code == 403
    got = client.get(url, headers=auth).json()
    assert got["status"] == "Open" and got["url"] == "https://jira.example.com/MKT-1"
    plain = sub_step_url(task, 0, 0) + "/external-work"
    assert client.get(plain, headers=auth).status_code == 404
