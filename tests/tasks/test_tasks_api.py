"""Tasks, workflows and task steps over HTTP: generic resource tests, filters, updates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.http.links import Links
from cmpapi.server.resources.labels import service as labels
from cmpapi.server.resources.tasks import service
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import TaskCreateRequest
from tests.support.mixins import ResourceTests
from tests.support.tasks import app_token, create_task, make_workflow, sub_step_url
from tests.support.world import World

LINKS = Links("https://testserver")


def make_tasks(db: Session, world: World, n: int, workflow_id: str | None = None) -> list[str]:
    body = TaskCreateRequest(title="Task", workflow_id=workflow_id) if workflow_id else None
    return [
        service.create_task(
            db, world.principal(), LINKS, body or TaskCreateRequest(title=f"Task {i}")
        ).task.id
        for i in range(n)
    ]


class TestTasks(ResourceTests):
    list_path = "/v3/tasks"
    item_path = "/v3/tasks/{id}"
    create_path = "/v3/tasks"
    create_data = [
        {"title": "Blog post"},
        {
            "title": "Launch",
            "workflow_id": "{workflow}",
            "owner_id": "{member}",
            "start_at": "2030-01-01T00:00:00Z",
            "due_at": "2030-02-01T00:00:00Z",
        },
    ]
    invalid_create = [
        ({"title": " "}, "title", 422),
        ({}, "title", 422),
        ({"title": "x", "workflow_id": "nope"}, None, 404),
        ({"title": "x", "campaign_id": "c1"}, None, 404),
        ({"title": "x", "owner_id": "nobody"}, "owner_id", 422),
        (
            {"title": "x", "start_at": "2030-01-02T00:00:00Z", "due_at": "2030-01-01T00:00:00Z"},
            "due_at",
            422,
        ),
    ]
    update_path = "/v3/tasks/{id}"
    update_data = [
        {"title": "Renamed", "due_at": "2040-01-01T00:00:00Z"},
        {"workflow_id": "{other}"},
    ]
    invalid_update = [
        ({"title": " "}, "title", 422),
        ({"owner_id": "ghost"}, "owner_id", 422),
        ({"workflow_id": "nope"}, None, 404),
    ]

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return make_tasks(db, world, n, make_workflow(db, world))

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        only = [{"name": "Only", "sub_steps": [{"name": "Do it"}]}]
        return {"workflow": make_workflow(db, world), "other": make_workflow(db, world, "O", only)}


class TestWorkflows(ResourceTests):
    list_path = "/v3/workflows"
    item_path = "/v3/workflows/{workflow_id}".replace("{workflow_id}", "{id}")

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [make_workflow(db, world, f"Flow {i}") for i in range(n)]


def test_get_workflow_lists_steps_sub_steps_and_assignees(
    client, db: Session, world: World
) -> None:
    steps = [
        {
            "name": "Review",
            "sub_steps": [
                {
                    "name": "Edit",
                    "actions": ["findContent"],
                    "assignees": [
                        {"type": "user", "id": world.users["member"].id},
                        {"type": "team", "id": world.team.id},
                    ],
                },
                {"name": "Ticket", "is_external": True, "external_system": "Jira"},
            ],
        }
    ]
    wf = make_workflow(db, world, "Flow", steps)
    body = client.get(f"/v3/workflows/{wf}", headers=world.auth("viewer")).json()
    edit, ticket = body["steps"][0]["sub_steps"]
    assert edit["type"] == "default" and ticket["type"] == "external"
    assert edit["actions"] == [{"name": "findContent"}]
    assert [(a["type"], a["name"]) for a in edit["assignees"]] == [
        ("user", "Member Acme"),
        ("team", "Acme Team"),
    ]
    task = create_task(client, world, wf)
    first = task["steps"][0]["sub_steps"][0]
    assert (first["assignee_type"], first["assignee_id"]) == ("user", world.users["member"].id)
    assert first["links"]["assignee"].endswith(f"/v3/users/{world.users['member'].id}")


def test_reference_ids_count_up_per_organization(client, world: World) -> None:
    refs = [create_task(client, world, None)["reference_id"] for _ in range(3)]
    assert refs == ["1", "2", "3"]


def test_list_filters(client, db: Session, world: World) -> None:
    wf = make_workflow(db, world)
    plain = create_task(client, world, None, title="Blog post")
    late = create_task(client, world, wf, title="Late launch", due_at="2000-01-01T00:00:00Z")
    going = create_task(client, world, wf, title="Launch", start_at="2031-01-01T00:00:00Z")
    client.patch(sub_step_url(going, 0, 0), json={"is_in_progress": True}, headers=world.auth())

    def ids(**params: Any) -> list[str]:
        r = client.get("/v3/tasks", params=params, headers=world.auth())
        assert r.status_code == 200, r.text
        return sorted(t["id"] for t in r.json()["data"])

    assert ids(search_key="launch") == sorted([late["id"], going["id"]])
    assert ids(workflow=wf) == sorted([late["id"], going["id"]])
    assert ids(status="Overdue") == [late["id"]]
    assert ids(status="In Progress") == [going["id"]]
    assert ids(status="Not Started") == [plain["id"]]
    assert ids(status=["Not Started", "Overdue"]) == sorted([plain["id"], late["id"]])
    assert ids(status="Completed") == []
    assert ids(start_date="2031-01-01T00:00:00Z") == [going["id"]]
    assert ids(due_date="2001-01-01") == [late["id"]]
    r = client.get("/v3/tasks", params={"status": "Bogus"}, headers=world.auth())
    assert r.status_code == 400
    r = client.get("/v3/tasks", params={"due_date": "soon"}, headers=world.auth())
    assert r.status_code == 422 and "due_date" in r.json()["errors"]
    listed = client.get("/v3/tasks", params={"status": "Overdue"}, headers=world.auth()).json()
    assert listed["data"][0]["status"] == "Overdue"
    assert listed["data"][0]["links"]["workflow"].endswith(f"/v3/workflows/{wf}")


def test_update_task(client, db: Session, world: World) -> None:
    wf, other = (
        make_workflow(db, world),
        make_workflow(db, world, "Other", [{"name": "Only", "sub_steps": [{"name": "Do it"}]}]),
    )
    task = create_task(client, world, wf)
    url, auth = f"/v3/tasks/{task['id']}", world.auth("member")
    r = client.patch(url, json={"title": "Renamed", "due_at": "2040-01-01T00:00:00Z"}, headers=auth)
    assert r.status_code == 200 and r.json()["title"] == "Renamed"
    r = client.patch(url, json={"workflow_id": other}, headers=auth)
    assert r.status_code == 200 and [s["title"] for s in r.json()["steps"]] == ["Only"]
    client.patch(sub_step_url(r.json(), 0, 0), json={"is_in_progress": True}, headers=auth)
    r = client.patch(url, json={"workflow_id": wf}, headers=auth)
    assert r.status_code == 422 and "workflow_id" in r.json()["errors"]
    assert client.patch(url, json={"title": "x"}, headers=world.auth("viewer")).status_code == 403
    assert client.patch(url, json={"owner_id": "ghost"}, headers=auth).status_code == 422
    unchanged = client.get(url, headers=auth).json()
    assert unchanged["title"] == "Renamed" and unchanged["workflow_id"] == other


def test_update_task_step_due_date(client, db: Session, world: World) -> None:
    task = create_task(client, world, make_workflow(db, world))
    step = task["steps"][1]
    url = f"/v3/tasks/{task['id']}/steps/{step['id']}"
    r = client.patch(url, json={"due_at": "2000-01-01T00:00:00Z"}, headers=world.auth())
    assert r.status_code == 200 and r.json()["due_at"] == "2000-01-01T00:00:00Z"
    assert r.json()["id"] == step["id"] and len(r.json()["sub_steps"]) == 2
    # Step 2 is not open yet: the task is not overdue because of it.
    assert client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()["status"] == (
        "Not Started"
    )
    assert (
        client.patch(
            f"/v3/tasks/{task['id']}/steps/nope", json={}, headers=world.auth()
        ).status_code
        == 404
    )


def test_assignees_and_one_change_per_request(client, db: Session, world: World) -> None:
    task = create_task(client, world, make_workflow(db, world))
    url, auth = sub_step_url(task, 1, 0), world.auth("member")
    r = client.patch(
        url, json={"assignee_id": world.team.id, "assignee_type": "team"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["assignee_type"] == "team"
    assert r.json()["links"]["assignee"].endswith(f"/v3/teams/{world.team.id}")
    r = client.patch(url, json={"assignee_id": None}, headers=auth)
    assert r.status_code == 200 and r.json()["links"]["assignee"] is None
    bad = client.patch(url, json={"assignee_id": "ghost"}, headers=auth)
    assert bad.status_code == 422 and "assignee_id" in bad.json()["errors"]
    both = client.patch(url, json={"is_completed": True, "assignee_id": None}, headers=auth)
    assert both.status_code == 422
    assert client.patch(url, json={"is_completed": False}, headers=auth).status_code == 422
    assert client.patch(url, json={}, headers=auth).status_code == 422
    assert (
        client.patch(url, json={"is_skipped": True}, headers=world.auth("viewer")).status_code
        == 403
    )
    r = client.get(url, headers=world.auth("viewer"))
    assert r.status_code == 200 and not r.json()["is_skipped"]
    wrong_step = url.replace(task["steps"][1]["id"], task["steps"][0]["id"])
    assert client.get(wrong_step, headers=auth).status_code == 404


def test_on_hold_and_archived_tasks_refuse_workflow_changes(
    client, db: Session, world: World
) -> None:
    task = create_task(client, world, make_workflow(db, world))
    row = db.get(Task, task["id"])
    row.is_on_hold, row.status = True, "On Hold"
    db.commit()
    r = client.patch(sub_step_url(task, 0, 0), json={"is_completed": True}, headers=world.auth())
    assert r.status_code == 422 and "hold" in r.json()["message"]
    listed = client.get("/v3/tasks", params={"status": "On Hold"}, headers=world.auth()).json()
    assert [t["id"] for t in listed["data"]] == [task["id"]]


ACTIONS = st.sampled_from(
    [{"is_in_progress": True}, {"is_completed": True}, {"is_skipped": True}, {"assignee_id": None}]
)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(st.tuples(st.integers(0, 4), ACTIONS, st.booleans()), max_size=12))
def test_random_requests_never_fail_the_server(
    client, db: Session, world: World, ops: list[tuple[int, dict[str, Any], bool]]
) -> None:
    wf = make_workflow(db, world, f"Flow {utcnow() + timedelta()}")
    task = create_task(client, world, wf)
    jira = app_token(db, world, "Jira")
    positions = [
        (s, m) for s, step in enumerate(task["steps"]) for m in range(len(step["sub_steps"]))
    ]
    for index, body, as_system in ops:
        step, sub = positions[index % len(positions)]
        headers = jira if as_system else world.auth()
        r = client.patch(sub_step_url(task, step, sub), json=body, headers=headers)
        assert r.status_code in (200, 403, 422), r.text
    final = client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()
    states = [
        (ss["is_completed"] or ss["is_skipped"], ss["is_in_progress"])
        for step in final["steps"]
        for ss in step["sub_steps"]
    ]
    done = [d for d, _ in states]
    assert done == sorted(done, reverse=True), states  # finished ones come first
    assert sum(p for _, p in states) <= 1
    assert final["is_completed"] == all(done)


def test_brief_link_only_when_the_task_has_a_brief(client, db: Session, world: World) -> None:
    from cmpapi.server.resources.tasks.metadata_service import set_task_brief

    task = create_task(client, world, None)
    assert task["links"]["brief"] is None
    set_task_brief(db, LINKS, db.get(Task, task["id"]), type="text", title="Brief")
    db.commit()
    got = client.get(f"/v3/tasks/{task['id']}", headers=world.auth()).json()
    assert got["links"]["brief"] == f"https://testserver/v3/tasks/{task['id']}/brief"
    assert client.get(got["links"]["brief"], headers=world.auth()).status_code == 200


def test_workflow_cannot_change_once_sub_steps_are_discussed(
    client, db: Session, world: World
) -> None:
    wf, other = make_workflow(db, world), make_workflow(db, world, "Other")
    task = create_task(client, world, wf)
    r = client.post(
        sub_step_url(task, 1, 0) + "/comments", json={"value": "Thoughts?"}, headers=world.auth()
    )
    assert r.status_code == 201, r.text
    r = client.patch(f"/v3/tasks/{task['id']}", json={"workflow_id": other}, headers=world.auth())
    assert r.status_code == 422 and "workflow_id" in r.json()["errors"]
    assert client.get(r.request.url, headers=world.auth()).json()["workflow_id"] == wf


def test_update_task_labels(client, db: Session, world: World) -> None:
    """Found by fuzzing: updateTask's label values are wrapped ids (a 500 on any label)."""
    group = labels.create_label_group(db, world.org.id, "Region", ["EMEA", "APAC"])
    db.commit()
    emea = group.values[0].id
    task = create_task(client, world, make_workflow(db, world))
    body = {"labels": [{"group": group.id, "values": [emea, emea]}]}
    r = client.patch(f"/v3/tasks/{task['id']}", json=body, headers=world.auth())
    assert r.status_code == 200, r.text
    assert [v["id"] for label in r.json()["labels"] for v in label["values"]] == [emea]
    bad = {"labels": [{"group": group.id, "values": ["9" * 32]}]}
    r = client.patch(f"/v3/tasks/{task['id']}", json=bad, headers=world.auth())
    assert r.status_code == 422
    assert "labels.0.values" in r.json()["errors"]


def test_search_pages_walked_or_sought_are_the_same(client, db: Session, world: World) -> None:
    """listTasks' search_key pages equal a plain filter of every title at every depth,
    whether the page walks the page order (a common word's first page) or reads and sorts
    every match (a rare word, a deep page: db/search.py, TitleMatch.seek); with a status
    filter too. 130 titles hold "harbor" (more than search.FEW: both plans run on SQLite);
    14 hold "quay", more than a page, fewer than a first page's turn to seeking; 200 hold
    "dock", one with a KELVIN SIGN."""
    from cmpapi.server.db.counters import made
    from cmpapi.server.db.search import FEW, PROBE, SEEK, WALK, title_match

    titles = [f"{'Harbor' if n % 3 else 'harbour'} {n:03d}" for n in range(200)]
    titles += ['Quote "harbor" 100%_', "HARBOR upper"]
    titles += [f"Quay {n:03d}" for n in range(14)]  # under a first page's turn: sought
    # Common enough that a first page tests each walked title on its own (PROBE), and one
    # title FTS5 folds onto ASCII (KELVIN SIGN -> k) where LIKE would not.
    titles += [f"Dock {n:03d}" for n in range(199)] + ["DOC\u212a west"]
    for title in titles:
        service.create_task(db, world.principal(), LINKS, TaskCreateRequest(title=title))
    # The KELVIN SIGN's task changed last: on the first page, which a PROBE walk reads.
    later = utcnow() + timedelta(days=1)
    db.execute(update(Task).where(Task.title == titles[-1]).values(modified_at=later))
    db.commit()
    rows = db.execute(
        select(Task.id, Task.title, Task.modified_at).where(Task.org_id == world.org.id)
    ).all()
    rows = sorted(rows, key=lambda r: (r.modified_at, r.id), reverse=True)
    if db.get_bind().dialect.name == "sqlite":  # both plans are taken below
        common = title_match(db, Task.title, "harbor")
        tasks = made(db, world.org.id, "task")
        assert tasks == len(rows)
        assert not common.seek(db, tasks, 10) and common.seek(db, tasks, 10_000)
        assert title_match(db, Task.title, '"harbor" 100%_').seek(db, tasks, 10)
        assert title_match(db, Task.title, "quay").seek(db, tasks, 10)
        dock = title_match(db, Task.title, "dock")
        assert [dock.plan(db, tasks, d) for d in (10, 20, 10_000)] == [PROBE, WALK, SEEK]
    for text in ("harbor", "rbour 1", '"harbor" 100%_', "nothing", "ha", "quay", "dock"):
        want = [r.id for r in rows if text.lower() in r.title.lower()]
        assert len(want) > FEW or text != "harbor"
        for offset in (0, 10, 120, len(want) - 5, len(want) + 3):
            for status in (None, "Not Started"):
                query: dict[str, Any] = {"search_key": text, "offset": max(offset, 0)}
                query |= {"page_size": 10} | ({"status": status} if status else {})
                r = client.get("/v3/tasks", params=query, headers=world.auth())
                assert r.status_code == 200, r.text
                got = [t["id"] for t in r.json()["data"]]
                assert got == want[max(offset, 0) : max(offset, 0) + 10], (text, offset)
