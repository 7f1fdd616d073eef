"""The domain error tree. Services raise these; ``http/errors.py`` renders them once.

No HTTP here: a service says *what* went wrong, the rendering layer decides the status
code and the CMP body ``{"message": ..., "errors": {...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    default_message = "Request failed"

    def __init__(self, message: str | None = None, errors: Mapping[str, Any] | None = None):
        self.message = message or self.default_message
        self.errors = dict(errors) if errors else None
        super().__init__(self.message)


class BadRequest(DomainError):
    """Malformed request: unknown parameters, unparsable values (400)."""

    default_message = "Bad request"


class Unauthorized(DomainError):
    """No valid credentials (401)."""

    default_message = "Unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this (403)."""

    default_message = "You do not have the permission to perform this operation"


class NotFound(DomainError):
    """The resource does not exist, or is not visible to the caller (404)."""

    default_message = "Resource not found"


class Conflict(DomainError):
    """The change conflicts with the current state (409)."""

    default_message = "Conflict"


class Invalid(DomainError):
    """Well-formed but semantically invalid input or transition (422)."""

    default_message = "Resource cannot be processed"


class RateLimited(DomainError):
    """Too many requests for the organization (429)."""

    default_message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after
