"""``Router``: an ``APIRouter`` that says "not mine" to a path at once, and whose routes
call their endpoints without FastAPI's dependency solver when their parameters allow it.

FastAPI tries the routers of an app in order and, inside each, every route's regular
expression: a request for ``/v3/tasks/...`` was matched against ~85 routes of the routers
included before the tasks router, ~15 % of its CPU time in-process (bench/README.md). A
router whose routes' literal prefixes (the path up to the first ``{``) do not occur in the
request path cannot match it, so it answers ``Match.NONE`` without trying its routes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from starlette.routing import Match
from starlette.types import Scope

from cmpapi.server.http import links
from cmpapi.server.http.bounds import bounded
from cmpapi.server.http.deferred import FieldsBuiltRoute
from cmpapi.server.http.errors import use_fastapi_shape
from cmpapi.wire import Error

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


# Parameters FastAPI fills from things other than the request object and the path.
_SPECIAL = (
    "websocket_param_name",
    "http_connection_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
)


def _plain(dep: Dependant) -> bool:
    """An async callable taking at most the request, path parameters and dependencies."""
    return (
        inspect.iscoroutinefunction(dep.call)
        and not (dep.query_params or dep.header_params or dep.cookie_params or dep.body_params)
        and all(getattr(dep, name) is None for name in _SPECIAL)
    )


def _request_only(dep: Dependant) -> bool:
    """A dependency computed from the request alone: ``async def f(request: Request)``
    (``get_api``, ``query(Model)``, ``get_db``)."""
    return (
        _plain(dep)
        and dep.name is not None
        and dep.request_param_name is not None
        and not (dep.path_params or dep.dependencies)
    )


def direct_handler(dependant: Dependant) -> Handler | None:
    """The endpoint called straight from the request, when all it takes is the request,
    text path parameters and request-only dependencies (every /v3 read and delete: ``Api``
    and a ``query(Model)``); None otherwise (bodies, forms, headers).

    FastAPI's solver spent ~13 % of a small read's CPU time walking the dependency tree,
    keying caches and collecting errors that none of these parameters can raise (path
    parameters are text; the dependencies raise the CMP's own errors). Values, their order
    and the errors raised stay FastAPI's: the dependencies are awaited first, in order, as
    its solver does."""
    endpoint = dependant.call
    if endpoint is None or not _plain(dependant):
        return None
    if not all(_request_only(d) for d in dependant.dependencies):
        return None
    if any(f.field_info.annotation is not str for f in dependant.path_params):
        return None
    request_name = dependant.request_param_name
    path_names = tuple((f.name, f.alias) for f in dependant.path_params)
    deps = tuple((str(d.name), d.call, str(d.request_param_name)) for d in dependant.dependencies)

    async def handler(request: Request) -> Response:
        values: dict[str, Any] = {}
        for name, call, param in deps:
            values[name] = await call(**{param: request})  # type: ignore[misc]  # async
        path = request.path_params
        for name, alias in path_names:
            values[name] = path[alias]
        if request_name is not None:
            values[request_name] = request
        response = await endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{endpoint.__name__} must return a Response")
        return response

    return handler


class OperationRoute(FieldsBuiltRoute):
    """An operation: its handler calls the endpoint directly where ``direct_handler``
    allows (routers include no dependencies of their own, so the route's ``dependant`` is
    the whole tree), FastAPI's handler otherwise, its validators built with it
    (``http/deferred.py``)."""

    direct: Handler | None = None  # also called by ``http/dispatch.py`` without FastAPI

    def get_route_handler(self) -> Handler:
        self.direct = direct_handler(self.dependant)
        return self.direct or super().get_route_handler()


class Router(APIRouter):
    """Every route module's router (the matching is FastAPI's once a path may be ours)."""

    def __init__(
        self, *args: Any, linked: bool = True, error_shape: str = "cmp", **kwargs: Any
    ) -> None:
        """``linked``: its operations are served under /v3 and links may point at them
        (``Links.to``); the /ext/v1 routers say False. ``error_shape``: ``"cmp"`` (the CMP
        ``Error`` body) or ``"fastapi"`` (``HTTPValidationError`` / ``HTTPException``, for
        the operations whose spec declares those; ``http/errors.py``), but for the statuses
        a route's ``responses`` document with the CMP ``Error`` model."""
        if error_shape not in ("cmp", "fastapi"):
            raise ValueError(f"unknown error shape {error_shape!r}")
        if kwargs.get("dependencies"):
            raise ValueError("OperationRoute calls endpoints without router dependencies")
        kwargs.setdefault("route_class", OperationRoute)
        super().__init__(*args, **kwargs)
        self.linked = linked
        self.error_shape = error_shape
        self.included: list[tuple[str, APIRouter]] = []  # (prefix, router), in order
        self._literals: tuple[str, ...] = ()
        self._literals_of = -1  # len(self.routes) the prefixes were computed for

    def literal_prefixes(self) -> tuple[str, ...]:
        """The path of each route up to its first parameter (without the include prefix,
        which comes before it in the request path: a substring test covers both)."""
        if self._literals_of != len(self.routes):
            paths = {str(getattr(route, "path", "")) for route in self.routes}
            self._literals = tuple(sorted({p.split("{", 1)[0] for p in paths}))
            self._literals_of = len(self.routes)
        return self._literals

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Every route's body is checked against the shared input bounds before it runs;
        its operation becomes a link target."""
        endpoint = bounded(endpoint)
        if self.error_shape == "fastapi":
            # Statuses the route documents with the CMP Error body keep that body.
            responses = kwargs.get("responses") or {}
            cmp = frozenset(int(c) for c, r in responses.items() if r.get("model") is Error)
            use_fastapi_shape(endpoint, cmp)
        super().add_api_route(path, endpoint, **kwargs)
        operation_id = kwargs.get("operation_id")
        if operation_id and self.linked:
            links.register(operation_id, self.prefix + path)

    def include_router(self, router: APIRouter, *args: Any, **kwargs: Any) -> None:
        """Kept in ``included`` too: ``http/dispatch.py`` walks the routes in order."""
        self.included.append((str(kwargs.get("prefix", "")), router))
        super().include_router(router, *args, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if not any(literal in path for literal in self.literal_prefixes()):
            return Match.NONE, {}
        return super().matches(scope)
