"""Workflows, tasks and external-system apps for task tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.oauth import store
from cmpapi.server.resources.workflows import service as workflows
from tests.support.world import World

# Step 1: write, review. Step 2: an external ticket (user interaction allowed), then a
# legal approval deferred to the external system. Step 3: publish.
REVIEW_FLOW: list[dict[str, Any]] = [
    {"name": "Create", "duration": 2, "sub_steps": [{"name": "Write"}, {"name": "Review"}]},
    {
        "name": "External",
        "sub_steps": [
            {
                "name": "Ticket",
                "is_external": True,
                "external_system": "Jira",
                "is_user_interaction_allowed": True,
            },
            {
                "name": "Legal approval",
                "is_external": True,
                "external_system": "Jira",
                "is_user_interaction_allowed": False,
            },
        ],
    },
    {"name": "Publish", "sub_steps": [{"name": "Go live"}]},
]


def make_workflow(
    db: Session, world: World, name: str = "Review flow", steps: list[dict[str, Any]] | None = None
) -> str:
    """A workflow of the world's organization (REVIEW_FLOW by default); its id."""
    workflow = workflows.create_workflow(db, world.org.id, name, steps or REVIEW_FLOW)
    db.commit()
    return workflow.id


def app_token(db: Session, world: World, name: str = "Jira") -> dict[str, str]:
    """Authorization header of a client_credentials-like token of another app (an external
    system named ``name``), acting as the world's admin."""
    app, _ = store.create_app(
        db, world.org.id, name=name, redirect_uris=[], token_user_id=world.users["admin"].id
    )
    token = store.issue_token(db, app, world.users["admin"].id, kind="access", ttl_seconds=3600)
    db.commit()
    return {"Authorization": f"Bearer {token.raw}"}


def create_task(client: Any, world: World, workflow_id: str | None, **fields: Any) -> Any:
    """createTask through the API; the response JSON."""
    body: dict[str, Any] = {"title": "Spring launch", **fields}
    if workflow_id:
        body["workflow_id"] = workflow_id
    r = client.post("/v3/tasks", json=body, headers=world.auth())
    assert r.status_code == 201, r.text
    return r.json()


def sub_step_url(task: dict[str, Any], step: int, sub: int) -> str:
    """The path of a sub-step, by positions."""
    s = task["steps"][step]
    return f"/v3/tasks/{task['id']}/steps/{s['id']}/sub-steps/{s['sub_steps'][sub]['id']}"
