"""The SDK's exceptions: one tree, rooted at :class:`CMPError`.

An HTTP answer outside 2xx raises an :class:`APIError` subclass chosen by its status
(``NotFoundError`` for 404, ``ClientError`` for any other 4xx, ``ServerError`` for 5xx...),
carrying the status, the CMP body's ``message`` and its field ``errors``, and the response.
The token endpoint's RFC 6749 errors raise :class:`OAuthError`.
"""

from __future__ import annotations

from typing import Any

import httpx


class CMPError(Exception):
    """Every exception the SDK raises on purpose."""


class APIConnectionError(CMPError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's timeout."""


class APIError(CMPError):
    """A non-2xx answer.

    ``message`` is the CMP body's ``message`` (or ``detail`` on structured-content
    routes, or the reason phrase); ``errors`` maps field paths to what is wrong with them.
    """

    def __init__(self, response: httpx.Response, message: str, errors: dict[str, Any]) -> None:
        self.response = response
        self.status = response.status_code
        self.message = message
        self.errors = errors
        fields = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"{self.status} {message}" + (f" ({fields})" if fields else ""))


class ClientError(APIError):
    """A 4xx answer: the request needs changing before it is sent again."""


class BadRequestError(ClientError):
    """400."""


class AuthenticationError(ClientError):
    """401: the token is missing, wrong, expired or revoked (and refreshing did not help)."""


class PermissionDeniedError(ClientError):
    """403: the token's user may not do this."""


class NotFoundError(ClientError):
    """404."""


class ConflictError(ClientError):
    """409."""


class UnprocessableEntityError(ClientError):
    """422: the body or the query failed validation; ``errors`` names the fields."""


class RateLimitError(ClientError):
    """429, after the client's retries ran out."""


class ServerError(APIError):
    """A 5xx answer, after the client's retries ran out (idempotent calls only retry)."""


class OAuthError(CMPError):
    """The token endpoint refused a grant: ``error`` is the RFC 6749 code
    (``invalid_grant``, ``invalid_client``...)."""

    def __init__(self, response: httpx.Response, error: str, description: str | None) -> None:
        self.response = response
        self.status = response.status_code
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}" if description else error)


class RequestValidationError(CMPError, ValueError):
    """Arguments that do not fit the operation's parameters or body, found before sending;
    ``errors`` maps field paths to what is wrong, as the CMP's 422 bodies do."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        fields = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"invalid request ({fields})")


class UnexpectedResponseError(CMPError):
    """A 2xx answer whose body does not have the shape the spec gives it."""

    def __init__(self, response: httpx.Response, reason: str) -> None:
        self.response = response
        super().__init__(f"unexpected answer to {response.request.method} {response.url}: {reason}")


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def api_error(response: httpx.Response) -> APIError:
    """The exception for a non-2xx ``response`` (its body already read)."""
    body = _json_object(response)
    message = body.get("message") or body.get("detail") or body.get("error_description")
    if not isinstance(message, str):
        message = response.reason_phrase or f"HTTP {response.status_code}"
    errors = body.get("errors")
    errors = errors if isinstance(errors, dict) else {}
    family = ServerError if response.status_code >= 500 else ClientError
    return _BY_STATUS.get(response.status_code, family)(response, message, errors)


def oauth_error(response: httpx.Response) -> CMPError:
    """The exception for a refused token request: RFC 6749 body, or a CMP one."""
    body = _json_object(response)
    error = body.get("error")
    if isinstance(error, str):
        description = body.get("error_description")
        return OAuthError(response, error, description if isinstance(description, str) else None)
    return api_error(response)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
