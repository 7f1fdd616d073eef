"""Shared pieces for /v3 route modules: common dependencies and documented error responses."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.deps import ApiDep
from cmpapi.wire import Error

_DESCRIPTIONS = {
    400: "Client error",
    401: "Authorization error",
    403: "Permission error",
    404: "Not found error",
    409: "Conflict",
    422: "Unprocessable entity error",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the CMP error statuses an operation declares."""
    return {code: {"model": Error, "description": _DESCRIPTIONS[code]} for code in codes}


__all__ = ["ApiDep", "error_responses"]
