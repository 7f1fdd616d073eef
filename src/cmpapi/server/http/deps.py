"""Request-scoped access to the database and the authenticated caller.

``Db`` runs a sync function in a fresh session; ``Api`` (every /v3 handler) does the same
as the bearer token's principal. Each call is one unit of work on the ``DbRunner`` (inline
or one bounded thread hop), so a request never holds a pooled connection across awaits.
Sessions close when the call returns: services commit what they change; anything left
uncommitted is rolled back. ``Api.answer`` (every write with a body to answer) also builds
the response in the unit of work and holds the services' commits until it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.runner import DbRunner
from cmpapi.server.db.session import UnitSession
from cmpapi.server.errors import Unauthorized
from cmpapi.server.http.links import Links, get_links
from cmpapi.server.http.principals import lookup_principal
from cmpapi.server.http.ratelimit import RateLimiter
from cmpapi.server.observability.context import note_org

P = ParamSpec("P")
T = TypeVar("T")


def bearer_token(request: Request) -> str | None:
    """The raw token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


# Methods whose work reads (getUploadUrl also records an upload; on SQLite, the busy
# timeout orders such a write after the loop's).
READ_METHODS = frozenset({"GET", "HEAD"})


def read_kind(request: Request) -> Hashable:
    """What a read asks, for ``DbRunner.read_as``: the route, the names of the query's
    parameters and the size class of its offset (a first page and a deep one differ)."""
    route = request.scope.get("route")
    query = request.query_params
    offset = query.get("offset", "")
    depth = int(offset).bit_length() if offset.isdigit() and len(offset) < 12 else 0
    return (getattr(route, "path", request.url.path), frozenset(query.keys()), depth)


class Db:
    """Runs sync database work in a fresh session on the app's ``DbRunner``."""

    def __init__(
        self,
        runner: DbRunner,
        make_session: Callable[[], Session],
        reads_only: bool = False,
        read_kind: Callable[[], Hashable] | None = None,
    ) -> None:
        self._runner = runner
        self._make_session = make_session
        self._reads_only = reads_only  # a GET request's work (DbRunner.read)
        self._read_kind = read_kind  # DbRunner.read_as

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(session, *args, **kwargs)`` as one unit of work."""
        if self._reads_only:
            return await self._runner.read_as(
                self._read_kind, self._in_session, fn, *args, **kwargs
            )
        return await self._runner.run(self._in_session, fn, *args, **kwargs)

    def _in_session(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self._make_session() as session:
            return fn(session, *args, **kwargs)


class Api(Db):
    """A /v3 request: database work as the bearer token's principal, and its links."""

    def __init__(self, request: Request, token: str) -> None:
        state = request.app.state
        reads = request.method in READ_METHODS
        kind = partial(read_kind, request) if reads else None
        super().__init__(state.db_runner, state.unit_sessions, reads, kind)
        self.links: Links = get_links(request)
        self._token = token
        self._principal: Principal | None = None
        self._limiter: RateLimiter | None = state.rate_limiter

    @property
    def principal(self) -> Principal:
        """The caller; known after the first ``call``."""
        if self._principal is None:
            raise RuntimeError("principal read before any Api.call")
        return self._principal

    async def call(
        self,
        fn: Callable[Concatenate[Session, Principal, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``fn(session, principal, *args, **kwargs)``; authenticates in the same unit."""
        return await self.run(self._as_principal, fn, *args, **kwargs)

    async def answer(
        self,
        build: Callable[[T], Response],
        fn: Callable[Concatenate[Session, Principal, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Response:
        """A write's answer: ``build(fn(session, principal, ...))``, committed only once the
        answer is built. A failure while building it stores nothing (DESIGN §5.18)."""
        return await self.run(self._answered, build, fn, *args, **kwargs)

    def _answered(
        self,
        session: Session,
        build: Callable[[T], Response],
        fn: Callable[Concatenate[Session, Principal, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Response:
        if not isinstance(session, UnitSession):
            raise TypeError("Api.answer needs the app's UnitSession")
        session.hold_commits()
        response = build(self._as_principal(session, fn, *args, **kwargs))
        session.commit_held()
        return response

    def _as_principal(
        self,
        session: Session,
        fn: Callable[Concatenate[Session, Principal, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._principal is None:
            principal = lookup_principal(session, self._token)
            if principal is None:
                raise Unauthorized()
            note_org(principal.org_id)  # the request log line names it
            if self._limiter is not None:  # once per request, before anything is done
                self._limiter.take(principal.org_id)
            self._principal = principal
        return fn(session, self._principal, *args, **kwargs)


async def get_db(request: Request) -> Db:
    """Dependency: database access without a caller (OAuth endpoints)."""
    state = request.app.state
    return Db(state.db_runner, state.unit_sessions, request.method in READ_METHODS)


async def get_api(request: Request) -> Api:
    """Dependency: a /v3 request. A missing bearer header is 401 before anything else."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    return Api(request, token)


DbDep = Annotated[Db, Depends(get_db)]
ApiDep = Annotated[Api, Depends(get_api)]
