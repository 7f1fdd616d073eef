"""Milestones: listMilestones, createMilestone, getMilestone, updateMilestone, and the tasks
they are linked to (``milestone_id`` on tasks, the ``milestone`` filter of listTasks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent
from tests.support.mixins import ResourceTests
from tests.support.tasks import create_task
from tests.support.world import World, build_world

API = "https://testserver/v3"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Q1 launch",
        "due_date": "2030-03-31T17:00:00+02:00",
        "hex_color": "#4ecfd5",
        **extra,
    }


def create(client: Any, world: World, who: str = "member", **extra: Any) -> Any:
    return client.post("/v3/milestones", json=body(**extra), headers=world.auth(who))


def ids(client: Any, world: World, **params: Any) -> list[str]:
    r = client.get("/v3/milestones", params={"page_size": 100, **params}, headers=world.auth())
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["data"]]


def task_milestone(client: Any, world: World, task: str) -> Any:
    return client.get(f"/v3/tasks/{task}", headers=world.auth()).json()["milestone_id"]


class TestMilestones(ResourceTests):
    list_path = "/v3/milestones"
    item_path = "/v3/milestones/{id}"
    create_path = "/v3/milestones"
    create_data = [
        (
            body(description="  All launch tasks "),
            {
                "title": "Q1 launch",
                "description": "All launch tasks",
                "campaign": None,
                "due_date": "2030-03-31T15:00:00Z",
                "color": "#4ECFD5",
            },
        ),
        (body(title="No description", hex_color="#FFF"), {"description": None, "color": "#FFF"}),
    ]
    invalid_create = [
        (body(title="   "), "title"),
        (body(title="x" * 81), "title"),
        (body(title=""), "title"),
        (body(title=None), "title"),
        (body(hex_color="teal"), "hex_color"),
        (body(hex_color="#12345"), "hex_color"),
        (body(description="d" * 251), "description"),
        (body(description="  "), "description"),
        (body(due_date="2030-03-31T17:00:00"), "due_date"),  # no offset
        (body(tasks=[{"id": "0" * 32}]), "tasks.0.id", 404),
        (body(campaign_id="63f1c2b675be4132854d2742"), None, 404),
    ]
    update_path = "/v3/milestones/{id}"
    update_data = [
        {"title": "Q2 launch", "description": "Now with a description"},
        (
            {"description": None, "hex_color": "#702bd5", "due_date": "2031-01-01T00:00:00Z"},
            {"description": None, "color": "#702BD5", "due_date": "2031-01-01T00:00:00Z"},
        ),
    ]
    invalid_update = [
        ({"title": " "}, "title"),
        ({"title": None}, "title"),
        ({"hex_color": "red"}, "hex_color"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"tasks": [{"id": "0" * 32}]}, "tasks.0.id", 404),
        ({"campaign_id": "63f1c2b675be4132854d2742"}, None, 404),
    ]

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return [
            create(self.client, world, due_date=f"2030-01-{i + 1:02d}T00:00:00Z").json()["id"]
            for i in range(n)
        ]


def test_create_answers_the_whole_milestone(client, db: Session, world: World) -> None:
    r = create(client, world, description="  All launch tasks ")
    assert r.status_code == 201, r.text
    made = r.json()
    assert made == {
        "id": made["id"],
        "title": "Q1 launch",
        "description": "All launch tasks",
        "due_date": "2030-03-31T15:00:00Z",
        "color": "#4ECFD5",
        "campaign": None,
        "links": {"self": f"{API}/milestones/{made['id']}"},
    }
    r = client.get(f"/v3/milestones/{made['id']}", headers=world.auth("viewer"))
    assert r.status_code == 200 and r.json() == made
    assert db.scalars(select(OutboxEvent)).all() == []  # the CMP has no milestone events


def test_list_filters_and_order(client, world: World) -> None:
    late = create(client, world, due_date="2030-12-01T00:00:00Z").json()["id"]
    early = create(client, world, due_date="2030-01-01T00:00:00Z").json()["id"]
    mid = create(client, world, due_date="2030-06-01T00:00:00Z").json()["id"]
    assert ids(client, world) == [early, mid, late]
    assert ids(client, world, due_date__from="2030-06-01T00:00:00Z") == [mid, late]
    assert ids(client, world, due_date__to="2030-06-01T02:00:00+02:00") == [early, mid]
    bounds = {"due_date__from": "2030-02-01T00:00:00Z", "due_date__to": "2030-07-01T00:00:00Z"}
    assert ids(client, world, **bounds) == [mid]
    # None of these has a campaign (tests/resources/test_campaign_links.py links them).
    assert ids(client, world, campaign_id="null") == [early, mid, late]
    assert ids(client, world, campaign_id="63f1c2b675be4132854d2742") == []
    r = client.get("/v3/milestones", params={"due_date__from": "soon"}, headers=world.auth())
    assert r.status_code == 400 and "due_date__from" in r.json()["errors"]


def test_refusals_say_why(client, world: World) -> None:
    """The generic tests check that refusals name the field; these are the messages."""

    def refused(status: int = 422, **extra: Any) -> Any:
        r = create(client, world, **extra)
        assert r.status_code == status, r.text
        return r.json()

    assert refused(title="   ")["errors"] == {"title": "Blank"}
    assert refused(hex_color="teal")["errors"] == {"hex_color": "A hex color code like #4ECFD5"}
    assert refused(description="  ")["errors"] == {"description": "Blank; send null to clear it"}
    campaign = "63f1c2b675be4132854d2742"
    missing = {"message": "Campaign not found", "errors": {"campaign_id": "Unknown campaign"}}
    assert refused(404, campaign_id=campaign) == missing
    made = create(client, world).json()
    url = f"/v3/milestones/{made['id']}"
    r = client.patch(url, json={"campaign_id": campaign}, headers=world.auth())
    assert (r.status_code, r.json()) == (404, missing)
    assert client.get(url, headers=world.auth()).json() == made
    assert ids(client, world) == [made["id"]]  # nothing half-written


def test_update_changes_only_the_given_keys(client, world: World) -> None:
    made = create(client, world, description="Before").json()
    url = f"/v3/milestones/{made['id']}"
    r = client.patch(url, json={"title": "Q2 launch"}, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    assert r.json() == {**made, "title": "Q2 launch"}
    change = {"description": None, "hex_color": "#702bd5", "due_date": "2031-01-01T00:00:00Z"}
    r = client.patch(url, json=change, headers=world.auth())
    assert r.json() == {
        **made,
        "title": "Q2 launch",
        "description": None,
        "color": "#702BD5",
        "due_date": "2031-01-01T00:00:00Z",
    }
    assert client.patch(url, json={}, headers=world.auth()).json() == r.json()
    assert client.get(url, headers=world.auth()).json() == r.json()


def test_milestones_link_tasks(client, db: Session, world: World) -> None:
    a, b, c = (create_task(client, world, None, title=t)["id"] for t in "abc")
    first = create(client, world, tasks=[{"id": a}, {"id": b}, {"id": a}]).json()["id"]
    assert (task_milestone(client, world, a), task_milestone(client, world, c)) == (first, None)

    def listed(milestone: str) -> set[str]:
        r = client.get(
            "/v3/tasks", params={"milestone": milestone, "page_size": 100}, headers=world.auth()
        )
        return {t["id"] for t in r.json()["data"]}

    assert listed(first) == {a, b}
    task = client.get(f"/v3/tasks/{a}", headers=world.auth()).json()
    assert task["links"]["milestone"] == f"{API}/milestones/{first}"
    # Linking a task to another milestone moves it there.
    second = create(client, world, tasks=[{"id": b}]).json()["id"]
    assert (listed(first), listed(second)) == ({a}, {b})
    # An update's list replaces the milestone's tasks; [] unlinks them all.
    url = f"/v3/milestones/{first}"
    assert client.patch(url, json={"tasks": [{"id": c}]}, headers=world.auth()).status_code == 200
    assert (listed(first), listed(second)) == ({c}, {b})
    assert client.patch(url, json={"tasks": []}, headers=world.auth()).status_code == 200
    assert listed(first) == set() and task_milestone(client, world, c) is None
    other = build_world(db, org_name="Other", prefix="o-")
    theirs = create_task(client, other, None)["id"]
    r = create(client, world, tasks=[{"id": a}, {"id": theirs}])
    assert r.status_code == 404
    assert r.json() == {"message": "Task not found", "errors": {"tasks.1.id": "Unknown task"}}
    assert listed(second) == {b} and len(ids(client, world)) == 2  # nothing half-written
