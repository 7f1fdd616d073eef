"""The authorization pages: login, consent and error, rendered from jinja2 templates."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Response
from fastapi.responses import HTMLResponse

from cmpapi.server.oauth.authorize import AuthorizationRequest
from cmpapi.server.oauth.errors import PageError
from cmpapi.server.oauth.login import Login
from cmpapi.server.oauth.scopes import DESCRIPTIONS

if TYPE_CHECKING:
    from jinja2 import Environment


@functools.cache
def _env() -> Environment:
    """The templates' environment, made by the first page: jinja2 (its lexer's patterns
    above all) took ~60 ms of every ``cmpapi serve`` start (issue 15)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=StrictUndefined,
    )


# The pages hold credentials and a one-click approval: never cached, never framed
# (clickjacking on the Allow button), no scripts, and no Referer leaking the query.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def render(template: str, status_code: int = 200, **context: Any) -> Response:
    """An HTML page with the security headers every authorization page needs."""
    html = _env().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def login_page(
    request: AuthorizationRequest,
    csrf_token: str,
    *,
    error: str | None = None,
    login: str = "",
    retry_after: int | None = None,
) -> Response:
    """The sign-in form for the app named in ``request``; a 429 with ``Retry-After`` when
    sign-in is throttled (``error`` then says when to try again)."""
    response = render(
        "login.html",
        429 if retry_after is not None else 200,
        app_name=request.app.name,
        action=f"?{request.query_string()}",
        csrf_token=csrf_token,
        error=error,
        login=login,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def consent_page(request: AuthorizationRequest, login: Login) -> Response:
    """The Allow / Deny page listing what the app asks for."""
    scopes = [DESCRIPTIONS[s] for s in request.scope.split()]
    if request.app.expose_email and "profile" in request.scope.split():
        scopes.append("Read your email address")
    return render(
        "consent.html",
        app_name=request.app.name,
        homepage_url=request.app.homepage_url,
        scopes=scopes,
        user_name=login.user.full_name or login.user.email,
        user_email=login.user.email,
        action=f"?{request.query_string()}",
        csrf_token=login.row.csrf_token,
    )


def error_page(exc: PageError) -> Response:
    """The page shown when the request cannot be sent back to the client."""
    return render("error.html", exc.status_code, title=exc.title, message=exc.message)
