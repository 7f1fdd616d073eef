"""``Router``: an ``APIRouter`` that says "not mine" to a path at once.

FastAPI tries the routers of an app in order and, inside each, every route's regular
expression: a request for ``/v3/tasks/...`` was matched against ~85 routes of the routers
included before the tasks router, ~15 % of its CPU time in-process (bench/README.md). A
router whose routes' literal prefixes (the path up to the first ``{``) do not occur in the
request path cannot match it, so it answers ``Match.NONE`` without trying its routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope

from cmpapi.server.http import links
from cmpapi.server.http.bounds import bounded
from cmpapi.server.http.errors import use_fastapi_shape
from cmpapi.wire import Error


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
        super().__init__(*args, **kwargs)
        self.linked = linked
        self.error_shape = error_shape
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

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if not any(literal in path for literal in self.literal_prefixes()):
            return Match.NONE, {}
        return super().matches(scope)
