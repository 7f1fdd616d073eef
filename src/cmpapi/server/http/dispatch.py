"""``Dispatch``: the app's routing table, looked up by path, in front of FastAPI's router.

FastAPI 0.165 routes a request through its included routers (each one matched, then matched
again to select the route), the route's ``request_response`` wrapper (two exit stacks and a
route-level exception wrapper) and then the handler: ~20 % of a small read's CPU time
(bench/README.md, "Third pass"). ``Dispatch`` finds the route FastAPI would choose, from a
table of every route of the app in FastAPI's order bucketed by the path's first segments,
and when that route's handler is direct (``router.direct_handler``: every read and delete)
calls it at once. A route with a body runs its own FastAPI handler (``route.handle``, as
Starlette's router would once it had matched). Only what no route serves (a method the path
does not serve, 404s) goes to FastAPI's router. FastAPI builds an included router's routes
again for each app, at the first request that router matches (about 1 ms a route, 150-300
ms for all of them): a process paid that once, the test suite for each test's app. The
routes ``Dispatch`` calls are the route modules' own, built once per process (no router of
cmpapi adds dependencies, tags or a body size of its own when included).

What FastAPI's route handling would have done and still matters is done here: the scope's
``route``, ``endpoint`` (the error shape, ``errors.py``) and ``path_params``. Errors raised
by the handler reach the app's exception handlers through Starlette's
``ExceptionMiddleware``, as they did from the route's own wrapper (same handlers).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.convertors import Convertor
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from cmpapi.server.http.router import Handler, OperationRoute

# "", "v3", "tasks": the parts of a path that key its bucket.
_KEY_PARTS = 3


@dataclass(frozen=True, slots=True)
class _Entry:
    order: int
    path: str  # with the include prefix
    regex: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]
    methods: frozenset[str] | None  # None: any method (FastAPI's own routes say so)
    route: Route
    handler: Handler | None  # the direct handler, if the route has one
    handle: ASGIApp | None  # the route's own FastAPI handling; None: FastAPI's router


def _request_key(path: str) -> str:
    """A path's first two segments: "/v3/tasks" of "/v3/tasks/t1/steps"."""
    return "/".join(path.split("/", _KEY_PARTS)[:_KEY_PARTS])


def _key(path: str) -> str | None:
    """A route's bucket, or None when a parameter is part of it (checked for every path)."""
    key = _request_key(path)
    return None if "{" in key else key


class Dispatch:
    """ASGI app: a direct route's handler, or FastAPI's router (``fallback``)."""

    def __init__(self, fallback: ASGIApp, router: Any, entries: Sequence[_Entry]) -> None:
        self.fallback = fallback
        self.router = router
        buckets: dict[str, list[_Entry]] = {}
        anywhere: list[_Entry] = []  # a parameter among the key's parts: tried for all paths
        for entry in entries:
            key = _key(entry.path)
            if key is None:
                anywhere.append(entry)
            else:
                buckets.setdefault(key, []).append(entry)
        order = lambda e: e.order  # noqa: E731
        self._anywhere = tuple(anywhere)
        self._buckets = {k: tuple(sorted([*b, *anywhere], key=order)) for k, b in buckets.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            path: str = scope["path"]
            method: str = scope["method"]
            for entry in self._buckets.get(_request_key(path), self._anywhere):
                match = entry.regex.match(path)
                if match is None:
                    continue
                if entry.methods is not None and method not in entry.methods:
                    continue  # FastAPI goes on looking (and answers 405 if nothing else)
                if entry.handle is None:
                    break
                params = dict(scope.get("path_params") or {})
                for name, value in match.groupdict().items():
                    params[name] = entry.convertors[name].convert(value)
                scope["route"] = entry.route
                scope["endpoint"] = entry.route.endpoint
                scope["path_params"] = params
                scope.setdefault("router", self.router)
                if entry.handler is None:
                    await entry.handle(scope, receive, send)
                    return
                response = await entry.handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def install(app: FastAPI, included: Sequence[tuple[str, Any]]) -> None:
    """Put ``Dispatch`` in front of ``app``'s router, once every route is added.
    ``included``: the ``(prefix, router)`` pairs in the order they were included."""
    entries: list[_Entry] = []

    def walk(routes: Sequence[Any], included: Sequence[tuple[str, Any]], prefix: str) -> None:
        # FastAPI keeps an included router as one item of its includer's routes.
        routers = iter(included)
        for item in routes:
            if isinstance(item, Route):
                entries.append(_entry(len(entries), item, prefix + item.path))
                continue
            sub_prefix, router = next(routers)
            walk(router.routes, getattr(router, "included", ()), prefix + sub_prefix)
        if next(routers, None) is not None:
            raise RuntimeError("fewer included routers than given")

    walk(app.router.routes, included, "")
    router = app.router
    router.middleware_stack = Dispatch(router.middleware_stack, router, entries)


# The same paths for every app of a process (the test suite makes one per test).
_compile_path = functools.cache(compile_path)


def _entry(order: int, route: Route, path: str) -> _Entry:
    regex, _, convertors = _compile_path(path)
    methods = frozenset(route.methods) if route.methods else None
    handler = route.direct if isinstance(route, OperationRoute) else None
    # FastAPI's own routes (the OpenAPI document) stay with its router.
    handle = route.handle if isinstance(route, APIRoute) else None
    return _Entry(order, path, regex, convertors, methods, route, handler, handle)
