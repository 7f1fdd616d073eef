"""Error rendering: request bodies, domain errors and crashes all get the CMP Error body."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cmpapi.server.app import create_app
from cmpapi.server.errors import Conflict, Forbidden, Invalid, RateLimited
from cmpapi.server.settings import Settings
from cmpapi.wire import MilestoneCreateRequest


@pytest.fixture
def probe(tmp_path) -> TestClient:
    """The real app with probe routes that exercise the error paths of a body operation."""
    app: FastAPI = create_app(Settings(data_dir=tmp_path))

    @app.post("/probe/body")
    def body(payload: MilestoneCreateRequest) -> dict[str, str]:
        return {"ok": payload.title}

    @app.get("/probe/raise/{kind}")
    def raise_(kind: str) -> None:
        errors = {
            "conflict": Conflict("Already there"),
            "forbidden": Forbidden(),
            "invalid": Invalid("Cannot complete a skipped step", {"is_completed": "Skipped"}),
            "rate": RateLimited(retry_after=3),
        }
        if kind == "crash":
            raise RuntimeError("boom")
        raise errors[kind]

    return TestClient(app, raise_server_exceptions=False)


def test_unknown_body_field_is_422_and_named(probe: TestClient) -> None:
    r = probe.post("/probe/body", json={"title": "M1", "due_at": "2026-01-01T00:00:00Z", "x": 1})
    assert r.status_code == 422
    assert r.json()["message"] == "Invalid request body"
    assert r.json()["errors"]["x"] == "Unknown field"


def test_missing_and_mistyped_fields_are_named(probe: TestClient) -> None:
    r = probe.post("/probe/body", json={"title": 5})
    assert r.status_code == 422
    assert set(r.json()["errors"]) >= {"title"}


def test_malformed_json_is_400(probe: TestClient) -> None:
    r = probe.post("/probe/body", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"message": "Request body is not valid JSON"}


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("conflict", 409, {"message": "Already there"}),
        (
            "forbidden",
            403,
            {"message": "You do not have the permission to perform this operation"},
        ),
        (
            "invalid",
            422,
            {"message": "Cannot complete a skipped step", "errors": {"is_completed": "Skipped"}},
        ),
        ("rate", 429, {"message": "Too many requests"}),
        ("crash", 500, {"message": "Internal server error"}),
    ],
)
def test_domain_errors_render_once(probe: TestClient, kind: str, status: int, body: dict) -> None:
    r = probe.get(f"/probe/raise/{kind}")
    assert (r.status_code, r.json()) == (status, body)
    assert r.headers["content-type"] == "application/json"
    if kind == "rate":
        assert r.headers["retry-after"] == "3"


def test_union_labels_are_not_in_error_paths(client, world) -> None:
    # updateAssetFields items are a union tagged by `type`: pydantic puts the tag value
    # ("text") into the location; the rendered key names only what the client sent.
    body = [{"id": "f" * 24, "type": "text", "values": ["x"], "bogus": 1}]
    r = client.put(f"/v3/assets/{'a' * 32}/fields", json=body, headers=world.auth())
    assert r.status_code == 422
    assert r.json()["errors"] == {"0.bogus": "Unknown field"}
