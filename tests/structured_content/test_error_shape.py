"""The error shape of the /structured-content/ routers (FastAPI's) against the rest of the
API (the CMP ``Error`` body), from one app."""

from __future__ import annotations

from typing import Any

import pytest

from cmpapi.server.http.router import Router
from tests.support.world import World

T = "/v3/structured-content/content-types"
SC_REQUESTS = [
    ("GET", T),
    ("POST", T),
    ("GET", T + "/x"),
    ("POST", T + "/x"),
    ("GET", T + "/x/versions"),
    ("POST", T + "/x/versions"),
    ("GET", T + "/x/versions/y"),
]


def test_unknown_error_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="error shape"):
        Router(error_shape="xml")


@pytest.mark.parametrize(("method", "path"), SC_REQUESTS)
def test_structured_content_routes_answer_fastapi_errors(
    client: Any, world: World, method: str, path: str
) -> None:
    r = client.request(method, path, json={})
    assert (r.status_code, r.json()) == (401, {"detail": "Unauthorized"})
    r = client.request(method, path, json={}, headers=world.auth())
    if method == "POST":  # an empty body is invalid before anything is looked up
        assert r.status_code == 422
        assert all(set(e) == {"loc", "msg", "type"} for e in r.json()["detail"])
    elif path != T:
        assert r.status_code == 404
        assert set(r.json()) == {"detail"}


def test_other_routes_keep_the_cmp_body(client: Any, world: World) -> None:
    r = client.get("/v3/campaigns/" + "0" * 32, headers=world.auth())
    assert (r.status_code, r.json()) == (404, {"message": "Resource not found"})
    r = client.get("/v3/campaigns")
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})


def test_a_body_fastapi_cannot_parse_is_400_detail(client: Any, world: World) -> None:
    headers = {**world.auth(), "content-type": "application/json"}
    r = client.post(T, content=b"\xff\x146\xfe", headers=headers)
    assert r.status_code == 400
    assert set(r.json()) == {"detail"}
