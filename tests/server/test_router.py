"""``Router``: routers say "not mine" from their routes' literal prefixes, and routing is
otherwise FastAPI's own."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from cmpapi.server.http.router import Router


def build() -> tuple[FastAPI, Router, Router]:
    tasks, anything = Router(), Router()

    @tasks.get("/tasks")
    def list_tasks() -> str:
        return "tasks"

    @tasks.get("/tasks/{id}/steps")
    def steps(id: str) -> str:
        return f"steps of {id}"

    @anything.get("/{kind}/{id}")
    def generic(kind: str, id: str) -> str:
        return f"{kind} {id}"

    app = FastAPI()
    app.include_router(tasks, prefix="/v3")
    app.include_router(anything, prefix="/v3")
    return app, tasks, anything


def test_routes_still_match_through_the_include_prefix() -> None:
    app, _, _ = build()
    with TestClient(app) as client:
        assert client.get("/v3/tasks").json() == "tasks"
        assert client.get("/v3/tasks/t1/steps").json() == "steps of t1"
        assert client.get("/v3/images/i1").json() == "images i1"  # the tasks router said no
        assert client.get("/v3/tasks/t1").json() == "tasks t1"
        assert client.get("/elsewhere").status_code == 404


def test_a_path_without_the_literal_prefixes_is_refused_at_once() -> None:
    _, tasks, anything = build()
    assert tasks.literal_prefixes() == ("/tasks", "/tasks/")
    assert tasks.matches({"type": "http", "path": "/v3/userlist"}) == (Match.NONE, {})
    # A route that starts with a parameter has the literal prefix "/": never refused here.
    assert anything.literal_prefixes() == ("/",)
