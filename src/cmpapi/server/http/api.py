"""Shared pieces for /v3 route modules: common dependencies and documented error responses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from cmpapi.server.http.deps import CurrentPrincipal, DbSession
from cmpapi.server.http.links import Links, get_links
from cmpapi.wire import Error

LinksDep = Annotated[Links, Depends(get_links)]

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


__all__ = ["CurrentPrincipal", "DbSession", "LinksDep", "error_responses"]
