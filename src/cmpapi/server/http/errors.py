"""Error rendering: every failure under /v3 (and /ext) becomes the CMP ``Error`` body
``{"message": ..., "errors": {...}}``; no framework-default body leaks out.

Infrastructure failures (the database or the object store away, a full disk) are mapped
here and only here (``infrastructure_failure``): 503 with ``Retry-After``, or 507 when out
of space, with a fixed message; what went wrong goes to the log, never to the client. The
local storage endpoints render the same mapping as S3 XML (``storage/routes.py``).
docs/durability.md.

Routes whose spec operations declare FastAPI's error bodies instead (the
``/structured-content/...`` operations: ``HTTPValidationError`` for 422, ``HTTPException``
elsewhere) belong to a ``Router(error_shape="fastapi")``; their endpoints are registered
with ``use_fastapi_shape`` and every error of theirs (request validation, domain errors,
authentication) renders as ``{"detail": [{"loc", "msg", "type"}]}`` (422) or
``{"detail": "..."}`` (``fastapi_error``). 429 and infrastructure failures keep the CMP
body everywhere (docs/compat.md, "Structured content").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmpapi.server import errors
from cmpapi.server.http.responses import json_response
from cmpapi.server.storage.errors import StorageError, StorageFull, error_headline

log = logging.getLogger("cmpapi.errors")

STATUS: dict[type[errors.DomainError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Invalid: 422,
    errors.RateLimited: 429,
}
HTTP_MESSAGES = {404: "Resource not found", 405: "Method not allowed"}


@dataclass(frozen=True, slots=True)
class Failure:
    """How an infrastructure failure answers: the status, a message safe to show, the S3
    error code of the storage endpoints, and ``Retry-After`` seconds (None: waiting alone
    does not help)."""

    status: int
    message: str
    s3_code: str
    retry_after: int | None

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None


# A PostgreSQL restart takes 1-3 s (docs/durability.md); the pool reconnects by itself.
DATABASE_UNAVAILABLE = Failure(
    503, "The service is temporarily unavailable, please retry", "ServiceUnavailable", 2
)
STORAGE_UNAVAILABLE = Failure(
    503, "File storage is temporarily unavailable, please retry", "ServiceUnavailable", 5
)
# 507, not 503: retrying does not help until an operator frees space; clients that retry
# 503 automatically would only send the same bytes to a full disk again.
OUT_OF_SPACE = Failure(
    507, "The server has no storage space left for this request", "InsufficientStorage", None
)
# PostgreSQL SQLSTATEs of a database that is away or overloaded: classes 08 (connection),
# 53 (insufficient resources), 57 (operator intervention: shutdown, restart, cancel),
# 58 (system error), and transient conflicts (serialization failure, deadlock, lock timeout).
_PG_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_PG_UNAVAILABLE = frozenset({"40001", "40P01", "55P03"})
_PG_DISK_FULL = "53100"
# SQLite primary result codes: BUSY, LOCKED, IOERR, CANTOPEN; FULL is out of space.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 14})
_SQLITE_FULL = 13


def infrastructure_failure(exc: BaseException) -> Failure | None:
    """The answer to an exception that is an infrastructure failure, or None."""
    if isinstance(exc, StorageFull):
        return OUT_OF_SPACE
    if isinstance(exc, StorageError):
        return STORAGE_UNAVAILABLE
    if isinstance(exc, sa_exc.TimeoutError):  # every pooled connection busy for pool_timeout
        return DATABASE_UNAVAILABLE
    if isinstance(exc, sa_exc.DBAPIError):
        return _database_failure(exc)
    return None


def _database_failure(exc: sa_exc.DBAPIError) -> Failure | None:
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    sqlite_code: int | None = getattr(exc.orig, "sqlite_errorcode", None)
    sqlite_primary = sqlite_code & 0xFF if sqlite_code is not None else None  # extended codes
    if sqlstate == _PG_DISK_FULL or sqlite_primary == _SQLITE_FULL:
        return OUT_OF_SPACE
    if exc.connection_invalidated:  # the connection died under the statement
        return DATABASE_UNAVAILABLE
    if sqlite_primary is not None:
        return DATABASE_UNAVAILABLE if sqlite_primary in _SQLITE_UNAVAILABLE else None
    if sqlstate is not None:
        unavailable = sqlstate[:2] in _PG_UNAVAILABLE_CLASSES or sqlstate in _PG_UNAVAILABLE
        return DATABASE_UNAVAILABLE if unavailable else None
    # No code at all: the driver failed before the server answered (refused, timed out).
    operational = isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return DATABASE_UNAVAILABLE if operational else None


def log_failure(request: Request, failure: Failure, exc: BaseException) -> None:
    """One warning line per failed request (no traceback: the cause is not in our code)."""
    path, name = request.url.path, type(exc).__name__
    cause = error_headline(exc)
    log.warning("%s %s: %d (%s: %s)", request.method, path, failure.status, name, cause)


def error_body(message: str, field_errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if field_errors:
        body["errors"] = field_errors
    return body


def _input_path(loc: Sequence[Any], data: Any) -> list[str]:
    """The parts of a pydantic location that name something in the input. Unions insert
    parts that do not (branch labels like ``function-after[...]``, the discriminator's
    value ``text``); walking the input tells them apart from real keys and indexes."""
    out: list[str] = []
    for part in loc:
        if _has(data, part):
            data = data[part]
        elif isinstance(part, str) and (part[:1].isupper() or "[" in part or _is_tag(part, data)):
            continue
        else:
            data = None  # a missing field: nothing below it to walk
        out.append(str(part))
    return out


def _has(data: Any, part: Any) -> bool:
    if isinstance(data, dict):
        return part in data
    return isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)


def _is_tag(part: str, data: Any) -> bool:
    return isinstance(data, dict) and any(v == part for v in data.values() if isinstance(v, str))


def field_errors(
    details: Sequence[Any], *, skip_root: bool = True, data: Any = None
) -> dict[str, str]:
    """Pydantic error details as ``{"dotted.field.path": "message"}``.

    The location's first element (``body``/``query``/``path``) is dropped, and so are the
    parts unions insert (branch names, the discriminator's value) when ``data`` (the
    validated input) shows they are not keys of it.
    """
    out: dict[str, str] = {}
    for err in details:
        loc = list(err.get("loc", ()))
        if skip_root and loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        parts = (
            _input_path(loc, data)
            if data is not None
            else [str(p) for p in loc if not str(p)[:1].isupper() and "[" not in str(p)]
        )
        msg = "Unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "")
        out.setdefault(".".join(parts) or "body", msg)
    return out


# Endpoints (as their Router registered them) that answer errors in FastAPI's shape, each
# with the statuses it answers with the CMP body instead (those its operation declares as
# the CMP ``Error``, e.g. migrateSCContent's 400/404/409).
_FASTAPI_SHAPED: dict[Callable[..., Any], frozenset[int]] = {}


def use_fastapi_shape(
    endpoint: Callable[..., Any], cmp_statuses: frozenset[int] = frozenset()
) -> None:
    """Render the errors of requests routed to ``endpoint`` in FastAPI's shape, except
    domain errors of ``cmp_statuses``."""
    _FASTAPI_SHAPED[endpoint] = cmp_statuses


def _fastapi_shaped(request: Request, status: int | None = None) -> bool:
    endpoint = request.scope.get("endpoint")
    if endpoint is None or endpoint not in _FASTAPI_SHAPED:
        return False
    return status is None or status not in _FASTAPI_SHAPED[endpoint]


def _loc(root: str, key: str) -> list[str]:
    if key.startswith("path."):  # a path parameter the service refuses (previews)
        return key.split(".")
    return [root, *key.split(".")] if key and key != "body" else [root]


def domain_status(exc: errors.DomainError) -> int:
    """The HTTP status of a domain error."""
    return next(code for cls, code in STATUS.items() if isinstance(exc, cls))


def fastapi_error(exc: errors.DomainError) -> Response:
    """A domain error as FastAPI answers: a 422 ``HTTPValidationError`` listing each field
    error (``loc`` strings from the dotted path, under ``body``, or ``query`` for a
    ``BadRequest``; a key ``path.<name>`` names a path parameter), else
    ``{"detail": message}`` with the usual status."""
    if isinstance(exc, errors.RateLimited):
        return render_domain_error(exc)
    status = domain_status(exc)
    if exc.errors and status in (400, 422):
        root = "query" if isinstance(exc, errors.BadRequest) else "body"
        detail = [
            {"loc": _loc(root, key), "msg": str(msg), "type": "value_error"}
            for key, msg in exc.errors.items()
        ]
        return json_response({"detail": detail}, 422)
    return json_response({"detail": exc.message}, status)


def fastapi_validation_error(exc: RequestValidationError) -> Response:
    """FastAPI's own 422 body, with every ``loc`` part a string as the spec's
    ``ValidationError`` has it."""
    detail = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "value_error")),
        }
        for err in exc.errors()
    ]
    return json_response({"detail": detail}, 422)


def render_domain_error(exc: errors.DomainError) -> Response:
    status = next(code for cls, code in STATUS.items() if isinstance(exc, cls))
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited) else None
    return json_response(error_body(exc.message, exc.errors), status, headers)


def validation_error(exc: RequestValidationError | ValidationError, status: int) -> Response:
    details = exc.errors()
    body = getattr(exc, "body", None)
    fields = field_errors(details, data=body if isinstance(body, dict | list) else None)
    message = "Invalid request body" if status == 422 else "Invalid request"
    if all(d.get("type") == "json_invalid" for d in details):
        return json_response(error_body("Request body is not valid JSON"), 400)
    return json_response(error_body(message, fields), status)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> Response:
        if _fastapi_shaped(request, domain_status(exc)):
            return fastapi_error(exc)
        return render_domain_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _fastapi_shaped(request):
            return fastapi_validation_error(exc)
        # Bodies that fail the schema are 422; bad path/query values are 400 (ClientError).
        in_body = any(e.get("loc", ("",))[0] == "body" for e in exc.errors())
        return validation_error(exc, 422 if in_body else 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        if _fastapi_shaped(request, exc.status_code):  # e.g. a body FastAPI cannot parse
            return json_response({"detail": message}, exc.status_code, exc.headers)
        return json_response(error_body(message), exc.status_code, exc.headers)

    @app.exception_handler(StorageError)
    @app.exception_handler(sa_exc.DBAPIError)
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        failure = infrastructure_failure(exc)
        if failure is not None:
            log_failure(request, failure, exc)
            return json_response(error_body(failure.message), failure.status, failure.headers())
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(error_body("Internal server error"), 500)
