"""``Observe``: the request id, the request metrics and the request log line, for every
HTTP request, around everything else (errors rendered by Starlette's last-resort handler
included).

A pure ASGI middleware, measured on the hot path (docs/operations.md#cost): per request it
reads one header, sets one context variable, adds one response header, and after the
response increments one counter and one histogram whose children are cached. The
operation label comes from the route the router matched (``scope["route"]``, set by the
router in the request's scope, which every layer passes on unchanged): nothing is matched
twice.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cmpapi.server.observability import context
from cmpapi.server.observability.logs import request_target
from cmpapi.server.observability.metrics import UNMATCHED, RequestMetrics

REQUEST_ID_HEADER = b"x-request-id"
access_log = logging.getLogger("cmpapi.access")


class Observe:
    """Pure ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests
        self.metrics = RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        request_id = None
        for key, value in scope["headers"]:
            if key == REQUEST_ID_HEADER:
                request_id = context.sane_request_id(value)
                break
        if request_id is None:
            request_id = context.new_request_id()
        info = context.RequestInfo(request_id)
        token = context.CURRENT.set(info)
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - start
            route = scope.get("route")
            operation = (
                (getattr(route, "operation_id", None) or getattr(route, "name", None) or UNMATCHED)
                if route is not None
                else UNMATCHED
            )
            self.metrics.observe(operation, status, seconds)
            if self.log_requests:
                _log_request(scope, operation, status, seconds)
            context.CURRENT.reset(token)


def _log_request(scope: Scope, operation: str, status: int, seconds: float) -> None:
    """The request line; its request id and organization come from the context."""
    client = scope.get("client")
    extra: dict[str, Any] = {
        "client_addr": f"{client[0]}:{client[1]}" if client else "-",
        "method": scope["method"],
        "path": request_target(scope),
        "http_version": scope.get("http_version", "1.1"),
        "status": status,
        "operation": operation,
        "duration_ms": round(seconds * 1000, 2),
    }
    access_log.info("request", extra=extra)


class ObservedFastAPI(FastAPI):
    """FastAPI with ``Observe`` outside Starlette's ``ServerErrorMiddleware``: the 500 of
    an unhandled error carries the request id and is counted like any other answer."""

    log_requests = False

    def build_middleware_stack(self) -> ASGIApp:
        return Observe(super().build_middleware_stack(), log_requests=self.log_requests)
