"""The request bounds every operation inherits (docs/compat.md#input-bounds): hostile input
is a 4xx that names the field, never a 500, and never a stored row that later breaks reads.

Each test here failed before the bounds existed (hardening issue, findings 1-5).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.app import create_app
from cmpapi.server.db.session import UnitSession
from cmpapi.server.resources.milestones import service as milestones
from cmpapi.server.resources.milestones.tables import Milestone
from cmpapi.server.settings import Settings
from cmpapi.wire import MilestoneCreateRequest
from tests.conftest import ContractClient
from tests.support.world import World

MILESTONE = {"title": "Launch", "due_date": "2027-01-01T00:00:00Z", "hex_color": "#00ff00"}


def _milestones(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Milestone)) or 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due_date", "0500-01-01T00:00:00Z"),  # finding 1: stored, then every read was a 500
        ("due_date", "9999-12-31T23:00:00-05:00"),  # no UTC time exists for it
        ("title", "a\x00b"),  # finding 2: a 500 on PostgreSQL, stored on SQLite
        ("description", "x" * 1_000_001),  # no spec maxLength: the long-text bound
        ("tasks", [{"id": "t" * 5000}]),  # an id: the short-text bound
    ],
)
def test_out_of_bounds_body_is_422_naming_the_field_and_stores_nothing(
    client: ContractClient, world: World, db: Session, field: str, value: object
) -> None:
    r = client.post("/v3/milestones", json={**MILESTONE, field: value}, headers=world.auth())
    assert r.status_code == 422, r.text
    assert list(r.json()["errors"]) == [field if field != "tasks" else "tasks.0.id"]
    assert _milestones(db) == 0
    listed = client.get("/v3/milestones", headers=world.auth())
    assert listed.status_code == 200
    assert listed.json()["data"] == []


def test_bounds_hold_on_every_operation_with_a_body(client: ContractClient, world: World) -> None:
    """Not a milestone rule: a folder name (no spec maxLength) and a task title (NUL)."""
    r = client.post("/v3/folders", json={"name": "n" * 100_000}, headers=world.auth("member"))
    assert r.status_code == 422
    assert r.json()["errors"] == {"name": "At most 4096 characters"}
    r = client.post("/v3/tasks", json={"title": "\x00"}, headers=world.auth())
    assert r.status_code == 422
    assert r.json()["errors"]["title"] == "NUL characters are not allowed"


def test_dates_at_the_bounds_are_stored_and_read_back(client: ContractClient, world: World) -> None:
    for due in ("1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        r = client.post("/v3/milestones", json={**MILESTONE, "due_date": due}, headers=world.auth())
        assert r.status_code == 201, r.text
        assert r.json()["due_date"] == due
        got = client.get(f"/v3/milestones/{r.json()['id']}", headers=world.auth())
        assert got.json()["due_date"] == due


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=9223372036854775808", "offset"),  # finding 4: 2**63
        ("offset=99999999999999999999", "offset"),
        ("due_date__from=0999-12-31T00:00:00Z", "due_date__from"),
        ("campaign_id=a%00b", "campaign_id"),  # finding 2, in a query string
    ],
)
def test_out_of_bounds_query_is_400_naming_the_parameter(
    client: ContractClient, world: World, query: str, field: str
) -> None:
    r = client.get(f"/v3/milestones?{query}", headers=world.auth())
    assert r.status_code == 400, r.text
    assert field in r.json()["errors"]


def test_largest_offset_is_an_empty_page(client: ContractClient, world: World) -> None:
    r = client.get("/v3/milestones?offset=9223372036854775807", headers=world.auth())
    assert r.status_code == 200
    assert r.json()["data"] == []


def test_nul_in_a_path_is_400(client: ContractClient, world: World) -> None:
    r = client.get("/v3/milestones/a%00b", headers=world.auth())
    assert r.status_code == 400
    assert r.json()["errors"] == {"path": "NUL characters are not allowed"}


def test_nul_on_the_token_endpoint_is_an_oauth_error(client: ContractClient) -> None:
    form = {"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "x"}
    r = client.post("/o/oauth2/v1/token", data=form)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_search_key_is_text_not_a_pattern(client: ContractClient, world: World) -> None:
    """Finding 5: ``_`` and ``%`` matched every task."""
    for title in ("Plain title", "100% done", "snake_case"):
        assert client.post("/v3/tasks", json={"title": title}, headers=world.auth()).is_success
    titles = {
        key: [
            t["title"]
            for t in client.get(
                "/v3/tasks", params={"search_key": key}, headers=world.auth()
            ).json()["data"]
        ]
        for key in ("_", "%", "e_c", "0% d")
    }
    assert titles == {
        "_": ["snake_case"],
        "%": ["100% done"],
        "e_c": ["snake_case"],
        "0% d": ["100% done"],
    }


def test_long_search_key_is_400_not_a_crash(client: ContractClient, world: World) -> None:
    r = client.get("/v3/tasks", params={"search_key": "a" * 5000}, headers=world.auth())
    assert r.status_code == 400
    assert "search_key" in r.json()["errors"]
    r = client.get("/v3/tasks", params={"search_key": "a" * 50_000}, headers=world.auth())
    assert r.status_code == 414


@pytest.fixture
def small_limits(tmp_path: Path, database_url: str) -> TestClient:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        worker_embedded=False,
        max_body_bytes=64 * 1024,
        max_header_bytes=8 * 1024,
    )
    return TestClient(
        create_app(settings), base_url="https://testserver", raise_server_exceptions=False
    )


def test_body_over_the_limit_is_413_before_it_is_read(small_limits: TestClient) -> None:
    """Finding 3: refused from Content-Length, and from a streamed body as it passes."""
    big = b'{"name": "' + b"x" * 70_000 + b'"}'
    headers = {"Authorization": "Bearer nobody", "Content-Type": "application/json"}
    r = small_limits.post("/v3/folders", content=big, headers=headers)
    assert r.status_code == 413
    assert r.json() == {"message": "Request body too large"}

    def chunks():  # no Content-Length: chunked transfer encoding
        yield big[:40_000]
        yield big[40_000:]

    r = small_limits.post("/v3/folders", content=chunks(), headers=headers)
    assert r.status_code == 413


def test_headers_over_the_limit_are_431(small_limits: TestClient) -> None:
    r = small_limits.get("/v3/folders", headers={"X-Padding": "p" * 9000})
    assert r.status_code == 431
    assert r.json() == {"message": "Request headers too large"}
    r = small_limits.get("/v3/folders?" + "q" * 9000)
    assert r.status_code == 414


def test_a_failed_answer_stores_nothing(app: FastAPI, world: World, db: Session) -> None:
    """Finding 1's mechanism: with commits held (``Api.answer``), a service's commit only
    flushes; an answer that fails to build leaves nothing behind."""
    body = MilestoneCreateRequest.model_validate(MILESTONE)
    with app.state.sessionmaker() as session:
        assert isinstance(session, UnitSession)
        session.hold_commits()
        milestones.create_milestone(session, world.principal(), body)
        # the answer would be built here, and fails: the session closes uncommitted
    assert _milestones(db) == 0
    with app.state.sessionmaker() as session:
        session.hold_commits()
        milestones.create_milestone(session, world.principal(), body)
        session.commit_held()
    assert _milestones(db) == 1
