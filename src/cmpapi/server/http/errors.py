"""Error rendering: every failure under /v3 (and /ext) becomes the CMP ``Error`` body
``{"message": ..., "errors": {...}}``; no framework-default body leaks out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmpapi.server import errors
from cmpapi.server.http.responses import json_response

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
        parts = _input_path(loc, data) if data is not None else [
            str(p) for p in loc if not str(p)[:1].isupper() and "[" not in str(p)
        ]  # fmt: skip
        msg = "Unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "")
        out.setdefault(".".join(parts) or "body", msg)
    return out


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
    async def _domain(_: Request, exc: errors.DomainError) -> Response:
        return render_domain_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        # Bodies that fail the schema are 422; bad path/query values are 400 (ClientError).
        in_body = any(e.get("loc", ("",))[0] == "body" for e in exc.errors())
        return validation_error(exc, 422 if in_body else 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        return json_response(error_body(message), exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(error_body("Internal server error"), 500)
