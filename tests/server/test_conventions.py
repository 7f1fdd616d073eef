"""Cross-cutting API conventions: error rendering, unknown routes, the served OpenAPI."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from tests.contract.spec import SPEC_AVAILABLE, load_spec
from tests.support.world import World


def test_unknown_route_is_cmp_404(raw_client, world: World) -> None:
    r = raw_client.get("/v3/no-such-thing", headers=world.auth())
    assert r.status_code == 404
    assert r.json() == {"message": "Resource not found"}
    assert r.headers["content-type"] == "application/json"


def test_wrong_method_is_cmp_405(client, world: World) -> None:
    r = client.delete("/healthz")
    assert r.status_code == 405
    assert r.json() == {"message": "Method not allowed"}


def test_api_answers_for_any_host(client, world: World) -> None:
    r = client.get("/v3/userlist", headers={**world.auth(), "Host": "api.welcomesoftware.com"})
    assert r.status_code == 200
    assert r.json()["data"][0]["links"]["self"].startswith("https://api.welcomesoftware.com/v3/")


def test_healthz(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_bearer_scheme_is_case_insensitive_and_other_schemes_fail(client, world: World) -> None:
    token = world.tokens["admin"]
    assert (
        client.get("/v3/userlist", headers={"Authorization": f"bearer {token}"}).status_code == 200
    )
    for bad in (f"Basic {token}", token, "Bearer", "Bearer  "):
        assert client.get("/v3/userlist", headers={"Authorization": bad}).status_code == 401


def test_revoked_token_is_401(client, db, world: World) -> None:
    from cmpapi.server.db.base import utcnow
    from cmpapi.server.oauth import store

    store.find_token(db, world.tokens["member"]).revoked_at = utcnow()
    db.commit()
    r = client.get("/v3/userlist", headers=world.auth("member"))
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized"}


@pytest.mark.skipif(not SPEC_AVAILABLE, reason="official spec not present")
def test_served_openapi_matches_the_official_operations(app: FastAPI, client) -> None:
    ours = client.get("/v3/openapi.json").json()
    official = load_spec()
    served = {
        (method, path.removeprefix("/v3")): op["operationId"]
        for path, item in ours["paths"].items()
        if path.startswith("/v3/")
        for method, op in item.items()
    }
    assert served, "no /v3 operation served"
    for (method, path), operation_id in served.items():
        assert path in official["paths"], f"{path} is not in the official spec"
        assert official["paths"][path][method]["operationId"] == operation_id
    # And every official operation is served, with its own method and path: 170 of 170.
    documented = {
        (method, path): op["operationId"]
        for path, item in official["paths"].items()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }
    missing = sorted(op for key, op in documented.items() if served.get(key) != op)
    assert missing == [], f"{len(missing)} official operations are not routed as documented"
    assert len(served) == len(documented) == 170
    # Every response model we declare is named after the official schema or operation.
    schemas = set(ours["components"]["schemas"])
    assert {"UserResponse", "TeamWithUsers", "ListTeamsResponse", "UserListResponse"} <= schemas
    json.dumps(ours)  # serialisable as a whole
