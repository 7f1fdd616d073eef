"""OAuth 2.0 errors: one class per RFC error code, rendered once.

Grants and endpoints raise these; nothing below the routes computes an HTTP status.
``render_json`` turns one into the RFC 6749 §5.2 body ``{"error", "error_description"}``
(token, revocation and userinfo endpoints); the authorization endpoint instead sends
the code back to the client's redirect URI (§4.1.2.1), see ``authorize.py``.

Tree::

    OAuth2Error
    ├── InvalidRequest          400  malformed request, missing or repeated parameter
    ├── InvalidClient           401  client authentication failed
    │   └── TooManyAttempts     429  too many failed client authentications (throttle.py)
    ├── InvalidGrant            400  bad, expired, replayed or revoked code/refresh token
    ├── UnauthorizedClient      400  the client may not use this grant
    ├── UnsupportedGrantType    400
    ├── UnsupportedResponseType 400  (authorization endpoint only)
    ├── InvalidScope            400
    ├── AccessDenied            400  the user refused (authorization endpoint only)
    └── InvalidToken            401  bad bearer token (RFC 6750, userinfo)
"""

from __future__ import annotations

from fastapi import Response

from cmpapi.server.http.responses import json_response

# RFC 6749 §5.1: token responses and their errors must never be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuth2Error(Exception):
    """Base of every OAuth error; ``error`` is the RFC code sent on the wire."""

    error = "server_error"
    status_code = 400
    default_description = ""

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(f"{self.error}: {self.description}")

    def headers(self) -> dict[str, str]:
        """Extra response headers for this error."""
        return dict(NO_STORE)


class InvalidRequest(OAuth2Error):
    """RFC 6749 §5.2: a required parameter is missing, repeated or malformed."""

    error = "invalid_request"
    default_description = "The request is malformed"


class InvalidClient(OAuth2Error):
    """RFC 6749 §5.2: client authentication failed (unknown client, wrong secret, none).

    401 always; when the client tried HTTP Basic the response must carry a matching
    ``WWW-Authenticate`` challenge.
    """

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed"

    def __init__(self, description: str | None = None, *, used_basic: bool = False) -> None:
        super().__init__(description)
        self.used_basic = used_basic

    def headers(self) -> dict[str, str]:
        """Add the Basic challenge when Basic credentials were presented."""
        headers = super().headers()
        if self.used_basic:
            headers["WWW-Authenticate"] = 'Basic realm="cmpapi", error="invalid_client"'
        return headers


class TooManyAttempts(InvalidClient):
    """Client authentication refused unchecked: too many recent failures for this client or
    from this address (docs/compat.md#sign-in-throttling).

    RFC 6749 has no code for it: the body keeps ``invalid_client`` (what an OAuth library
    knows: the credentials were not accepted), the status is 429 and ``Retry-After`` says
    when to try again (what an HTTP client knows).
    """

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many failed client authentications for this client or from this address; "
            f"retry in {retry_after} seconds"
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds; no Basic challenge (nothing was checked)."""
        return {**NO_STORE, "Retry-After": str(self.retry_after)}


class InvalidGrant(OAuth2Error):
    """RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or reused."""

    error = "invalid_grant"
    default_description = "The authorization grant is invalid"


class UnauthorizedClient(OAuth2Error):
    """RFC 6749 §5.2: the client is not allowed to use this grant type."""

    error = "unauthorized_client"
    default_description = "The client may not use this grant type"


class UnsupportedGrantType(OAuth2Error):
    """RFC 6749 §5.2: the grant type is not supported by this server."""

    error = "unsupported_grant_type"
    default_description = "Supported: authorization_code, refresh_token, client_credentials"


class UnsupportedResponseType(OAuth2Error):
    """RFC 6749 §4.1.2.1: only ``response_type=code`` is supported."""

    error = "unsupported_response_type"
    default_description = "Only response_type=code is supported"


class InvalidScope(OAuth2Error):
    """RFC 6749 §5.2: the requested scope is unknown or exceeds the granted one."""

    error = "invalid_scope"
    default_description = "Supported scopes: openid profile offline_access"


class AccessDenied(OAuth2Error):
    """RFC 6749 §4.1.2.1: the resource owner denied the request."""

    error = "access_denied"
    default_description = "The user denied the request"


class InvalidToken(OAuth2Error):
    """RFC 6750 §3.1: the bearer token is missing, unknown, expired or revoked."""

    error = "invalid_token"
    status_code = 401
    default_description = "The access token is invalid"

    def headers(self) -> dict[str, str]:
        """The Bearer challenge RFC 6750 requires on a 401."""
        return {**super().headers(), "WWW-Authenticate": 'Bearer error="invalid_token"'}


def render_json(exc: OAuth2Error) -> Response:
    """The RFC 6749 §5.2 JSON error response for ``exc``."""
    body = {"error": exc.error, "error_description": exc.description}
    return json_response(body, exc.status_code, exc.headers())


class PageError(Exception):
    """A failure shown to the user on an HTML page instead of going back to the client.

    Used when the client or its redirect URI cannot be trusted (RFC 6749 §4.1.2.1: the
    server must not redirect then), and for expired or forged forms.
    """

    def __init__(self, title: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status_code = status_code
