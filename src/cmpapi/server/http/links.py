"""Absolute URLs for ``links``, pagination and redirects, built in one place.

An API link names the operation it points at (``links.to("getCampaignBrief", id=...)``):
every path is spelled once, in its route decorator, and ``Router.add_api_route`` records
each operation's path template here as the route modules are imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request

# Segments made only of these characters need no quoting (ids, the common case): skipping
# urllib's quote for them saves ~20 µs on a 10-item page.
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]+")
V3 = "/v3"


def _segment(value: str) -> str:
    return value if _SAFE_SEGMENT.fullmatch(value) else quote(value, safe="")


class LinkError(LookupError):
    """A link to an unknown operation or with the wrong parameters: a programming error."""


class _Template:
    """A path template split once: ``/tasks/{task_id}/steps/{step_id}`` is the head
    ``/v3/tasks/`` then ``(("task_id", "/steps/"), ("step_id", ""))``, so a link is a few
    concatenations (cheaper than ``str.format``)."""

    __slots__ = ("head", "pairs", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        head, *rest = f"{V3}{path}".split("{")
        self.head = head
        pairs = []
        for piece in rest:
            name, tail = piece.split("}", 1)
            pairs.append((name.split(":", 1)[0], tail))
        self.pairs: tuple[tuple[str, str], ...] = tuple(pairs)

    def mismatch(self, operation_id: str, params: Iterable[str]) -> LinkError:
        names = [name for name, _ in self.pairs]
        return LinkError(f"{operation_id} ({self.path}) takes {names}, not {sorted(params)}")


# operationId -> its path template under /v3, filled by ``Router.add_api_route``.
_OPERATIONS: dict[str, _Template] = {}


def register(operation_id: str, path: str) -> None:
    """Record the path (under /v3, with its router's prefix) of an operation."""
    known = _OPERATIONS.get(operation_id)
    if known is not None and known.path != path:
        raise LinkError(f"{operation_id} is served at both {known.path} and {path}")
    _OPERATIONS[operation_id] = _Template(path)


def operations() -> dict[str, str]:
    """Every registered operation and its path template under /v3."""
    return {op: t.path for op, t in _OPERATIONS.items()}


def _template(operation_id: str) -> _Template:
    """The operation's template, once every route module has registered."""
    template = _OPERATIONS.get(operation_id)
    if template is None:
        # Code that builds links without the app having been assembled (the CLI's demo
        # seed recording events) may not have imported the module serving the operation
        # yet: the route table imports them all (here, not at the top: it imports us).
        import cmpapi.server.routes  # noqa: F401

        template = _OPERATIONS.get(operation_id)
        if template is None:
            raise LinkError(f"no operation {operation_id!r} is served under {V3}")
    return template


class Links:
    """Builds absolute API URLs from the public base URL (or the request's own base)."""

    __slots__ = ("base",)

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def to(
        self, operation_id: str, /, *, query: Iterable[tuple[str, str]] = (), **params: str
    ) -> str:
        """``{base}/v3/...``: the URL of the operation, its path parameters filled in
        (each percent-encoded), plus a query."""
        template = _OPERATIONS.get(operation_id) or _template(operation_id)
        path = template.head
        try:
            for name, tail in template.pairs:
                path += _segment(params[name]) + tail
        except KeyError:
            raise template.mismatch(operation_id, params) from None
        if len(params) != len(template.pairs):
            raise template.mismatch(operation_id, params)
        if query:
            return self.url(path, query)
        return self.base + path

    def url(self, path: str, query: Iterable[tuple[str, str]] = ()) -> str:
        """``{base}{path}`` (path already encoded) with a fully percent-encoded query."""
        if query == ():  # most links (a list's web URLs): no encoding to do
            return self.base + path
        qs = urlencode(list(query), quote_via=quote, safe="")
        return f"{self.base}{path}?{qs}" if qs else f"{self.base}{path}"


# Links per (scheme, server, root path, Host header): working the base URL out of the
# request cost ~4 % of a small list request. Bounded: the Host header is the client's.
_BY_ORIGIN: dict[tuple[Any, ...], Links] = {}
_BY_ORIGIN_MAX = 256


def get_links(request: Request) -> Links:
    """The links builder for this request."""
    configured: str | None = request.app.state.settings.public_base_url
    if configured:
        return Links(configured)
    scope = request.scope
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    server = scope.get("server")
    key = (scope.get("scheme"), server and tuple(server), scope.get("root_path"), host)
    links = _BY_ORIGIN.get(key)
    if links is None:
        if len(_BY_ORIGIN) >= _BY_ORIGIN_MAX:
            _BY_ORIGIN.clear()
        links = _BY_ORIGIN[key] = Links(str(request.base_url))
    return links
