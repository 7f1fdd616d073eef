"""``X-Request-Id``: the client's when it is sane, else a new one; on every response."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.observability.metrics import value
from tests.support.world import World

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "given",
    [
        "req-1",
        "3f1c0a52-7d7e-4b7e-9a43-0d1e5c1a9b77",
        "Root=1-67891233-abcdef012345678912345678",
        "a" * 128,
        "svc:api/req.42+x@host_==",
    ],
)
def test_a_sane_request_id_is_echoed(raw_client: TestClient, world: World, given: str) -> None:
    r = raw_client.get("/v3/userlist", headers={**world.auth(), "X-Request-Id": given})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    ["a" * 129, "has space", "semi;colon", "<script>", 'quote"d', "new\\nline", "ümlaut", ""],
)
def test_an_unsafe_request_id_is_replaced(raw_client: TestClient, given: str) -> None:
    r = raw_client.get("/livez", headers={"X-Request-Id": given.encode()})
    assert GENERATED.fullmatch(r.headers["x-request-id"])


def test_each_request_without_one_gets_a_new_id(raw_client: TestClient) -> None:
    ids = {raw_client.get("/livez").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5 and all(GENERATED.fullmatch(i) for i in ids)


def test_errors_carry_the_request_id_too(
    app: FastAPI, raw_client: TestClient, world: World
) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/obs-test-boom", boom, include_in_schema=False)
    app.middleware_stack = None  # rebuilt with the new route on the next request
    cases = [
        ("GET", "/v3/userlist", {}, 401),
        ("GET", "/v3/no-such-thing", {}, 404),
        ("POST", "/ext/v1/webhooks", {"json": {"name": 3}, "headers": world.auth()}, 422),
    ]
    for method, path, kwargs, status in cases:
        headers = {**kwargs.pop("headers", {}), "X-Request-Id": f"err-{status}"}
        r = raw_client.request(method, path, headers=headers, **kwargs)
        assert (r.status_code, r.headers["x-request-id"]) == (status, f"err-{status}")
    before = raw_client.get("/metrics").text
    crashing = TestClient(app, raise_server_exceptions=False)
    r = crashing.get("/obs-test-boom", headers={"X-Request-Id": "err-500"})
    assert (r.status_code, r.headers["x-request-id"]) == (500, "err-500")
    after = raw_client.get("/metrics").text
    name, labels = "cmpapi_http_requests_total", {"operation": "boom", "status": "500"}
    assert value(after, name, **labels) - value(before, name, **labels) == 1
