"""``Dispatch`` (``http/dispatch.py``) chooses the route FastAPI's router would, for every
route of the app: each request below is answered twice, through the dispatch table and
through FastAPI's router alone, and the two answers (status and body) and chosen routes must
be the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cmpapi.server.http.dispatch import Dispatch
from tests.support.world import World

Scope = dict[str, Any]
STREAM = "/ext/v1/events/stream"


def requests(dispatch: Dispatch) -> Iterator[tuple[str, str]]:
    """Every route's path with made-up ids, under each of its methods, plus paths no route
    serves and methods a path does not take."""
    entries = {e.order: e for bucket in dispatch._buckets.values() for e in bucket}
    entries.update({e.order: e for e in dispatch._anywhere})
    for entry in sorted(entries.values(), key=lambda e: e.order):
        path = re.sub(r"\{[^}]+\}", "x1", entry.path)
        if path == STREAM:
            continue  # an answer that does not end (server-sent events)
        for method in sorted(entry.methods or {"GET"}):
            yield method, path
        yield "DELETE", path  # often not served: 405 or another route
    yield "GET", "/v3/no-such-thing"
    yield "GET", "/v3/tasks/"  # a trailing slash
    yield "GET", "/v3/openapi.json"


class Recorder:
    """The router's stack, remembering the route each request was given to."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.route: Any = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        try:
            await self.stack(scope, receive, send)
        finally:
            self.route = scope.get("route")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dispatch_answers_as_fastapi_does(app: FastAPI, db: Session, world: World) -> None:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, Dispatch)
    compared = direct = 0
    headers = {**world.auth("admin"), "X-Request-Id": "dispatch-test"}  # ids in error bodies
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in requests(dispatch):
            answers = []
            for stack in (dispatch, dispatch.fallback):
                recorder = app.router.middleware_stack = Recorder(stack)
                response = client.request(method, path, headers=headers)
                # The uploader's S3-style errors carry a random RequestId of their own, and
                # getUploadUrl makes a new upload (key, policy, signature) each time.
                body = re.sub(rb"<RequestId>\w+</RequestId>", b"", response.content)
                if getattr(recorder.route, "operation_id", None) == "getUploadUrl":
                    body = str(response.status_code).encode()
                # /metrics changes with every request.
                if path == "/metrics":
                    body = b""
                answers.append((response.status_code, body, recorder.route))
            ours, fastapis = answers
            assert (method, path, *ours) == (method, path, *fastapis)
            compared += 1
            direct += getattr(ours[2], "direct", None) is not None
        app.router.middleware_stack = dispatch
    assert compared > 300 and direct > 100
