"""OAuth2 endpoints at /o/oauth2/v1: auth (login + consent pages), token, userinfo, revoke.

Handlers are async shells around one synchronous unit of work each (``Db.run``: inline on
SQLite, one bounded thread hop on PostgreSQL). The three error kinds are rendered once, by
the route class: RFC 6749 JSON errors, errors redirected to the client, and HTML error
pages.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from cmpapi.server.http.deps import DbDep, bearer_token
from cmpapi.server.http.responses import json_response, redirect
from cmpapi.server.http.router import Router
from cmpapi.server.identity.service import authenticate
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth import authorize, login, pages, revocation, server, throttle
from cmpapi.server.oauth.authorize import AuthorizationRequest, ErrorRedirect
from cmpapi.server.oauth.errors import NO_STORE, OAuth2Error, PageError, render_json
from cmpapi.server.oauth.params import OAuthParams, Params
from cmpapi.server.oauth.secrets import new_secret
from cmpapi.server.oauth.userinfo import userinfo_claims
from cmpapi.server.settings import Settings

PREFIX = "/o/oauth2/v1"


class OAuthRoute(APIRoute):
    """Renders the OAuth error kinds raised anywhere below a handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the error rendering."""
        handler = super().get_route_handler()

        async def render_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except OAuth2Error as exc:
                return render_json(exc)
            except ErrorRedirect as exc:
                return redirect(exc.location, {"Cache-Control": "no-store"})
            except PageError as exc:
                return pages.error_page(exc)

        return render_errors


router = Router(prefix=PREFIX, include_in_schema=False, route_class=OAuthRoute)


@router.get("/auth")
async def authorization_page(request: Request, db: DbDep) -> Response:
    """The login page, or the consent page when the browser is signed in."""
    return await db.run(_authorization_page, request)


@router.post("/auth")
async def authorization_form(request: Request, db: DbDep, form: Params) -> Response:
    """The login form, and the consent form's Allow / Deny / sign-out buttons."""
    return await db.run(_authorization_form, request, form)


@router.post("/token")
async def token(request: Request, db: DbDep, params: Params) -> Response:
    """Token endpoint: authorization_code, refresh_token and client_credentials grants."""
    body = await db.run(server.create_token_response, _settings(request), params)
    return json_response(body, headers=NO_STORE)


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, db: DbDep) -> Response:
    """Claims of the bearer token's user (OpenID Connect userinfo)."""
    claims = await db.run(userinfo_claims, bearer_token(request))
    return json_response(claims, headers={"Cache-Control": "no-store"})


@router.post("/revoke")
async def revoke(request: Request, db: DbDep, params: Params) -> Response:
    """Revoke an access or refresh token (RFC 7009); always ``{"msg": "success"}``."""
    await db.run(revocation.revoke_token, _settings(request), params)
    return json_response({"msg": "success"}, headers=NO_STORE)


def _authorization_page(session: Session, request: Request) -> Response:
    auth = authorize.validate_request(session, request.query_params.multi_items())
    signed_in = _current_login(request, session, auth)
    if signed_in is None:
        return _login_form(request, auth)
    return pages.consent_page(auth, signed_in)


def _authorization_form(session: Session, request: Request, form: OAuthParams) -> Response:
    auth = authorize.validate_request(session, request.query_params.multi_items())
    action = form.get("action")
    if action == "login":
        return _sign_in(request, session, auth, form)
    signed_in = _current_login(request, session, auth)
    if signed_in is None:
        return _login_form(request, auth, error="Your session has ended. Please sign in again.")
    if not login.tokens_match(signed_in.row.csrf_token, form.get("csrf_token")):
        raise PageError("Form expired", "This form is no longer valid. Please start again.", 403)
    if action == "allow":
        location = authorize.approve(session, _settings(request), auth, signed_in.user.id)
        return redirect(location, {"Cache-Control": "no-store"})
    if action == "deny":
        return redirect(authorize.deny(auth), {"Cache-Control": "no-store"})
    if action == "logout":
        login.end(session, request.cookies.get(login.SESSION_COOKIE))
        response = _back_to_page(request, auth)
        response.delete_cookie(login.SESSION_COOKIE, path=_cookie_path(request))
        return response
    raise PageError("Invalid request", "The form was sent without a known action.")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _current_login(
    request: Request, session: Session, auth: AuthorizationRequest
) -> login.Login | None:
    signed_in = login.current(session, request.cookies.get(login.SESSION_COOKIE))
    # A user of another organization cannot authorize this organization's app.
    if signed_in is None or signed_in.user.org_id != auth.app.org_id:
        return None
    return signed_in


def _sign_in(
    request: Request, session: Session, auth: AuthorizationRequest, form: OAuthParams
) -> Response:
    if not login.tokens_match(request.cookies.get(login.LOGIN_CSRF_COOKIE), form.get("csrf_token")):
        return _login_form(request, auth, error="The form expired. Please sign in again.")
    user = _check_password(request, session, auth, form)
    if isinstance(user, Response):
        return user
    name = form.get("login") or ""
    if user.org_id != auth.app.org_id:
        error = f"This account cannot authorize {auth.app.name}: it is in another organization."
        return _login_form(request, auth, error=error, name=name)
    settings = _settings(request)
    raw = login.start(session, settings, user)
    response = _back_to_page(request, auth)
    _set_cookie(request, response, login.SESSION_COOKIE, raw, settings.login_session_ttl)
    response.delete_cookie(login.LOGIN_CSRF_COOKIE, path=_cookie_path(request))
    return response


def _check_password(
    request: Request, session: Session, auth: AuthorizationRequest, form: OAuthParams
) -> User | Response:
    """The user of the form's credentials, or the form again: wrong credentials, or
    throttled (refused at once, the password unchecked)."""
    settings = _settings(request)
    name = form.get("login") or ""
    attempt = throttle.Attempt(
        throttle.LOGIN,
        throttle.login_account(session, name),
        throttle.client_address(form.client_host),
    )
    gate = throttle.check(session, settings, attempt)
    if gate.retry_after is not None:
        error = _try_again(gate.retry_after)
        return _login_form(request, auth, error=error, name=name, retry_after=gate.retry_after)
    user = authenticate(session, name, form.get("password") or "")
    if user is None:
        wait = throttle.failed(session, settings, attempt, gate)
        error = "Wrong username, email or password."
        return _login_form(
            request, auth, error=f"{error} {_try_again(wait)}" if wait else error, name=name
        )
    throttle.succeeded(session, settings, attempt, gate)
    return user


def _try_again(seconds: int) -> str:
    return f"Too many failed sign-in attempts. Try again in {throttle.wait_text(seconds)}."


def _login_form(
    request: Request,
    auth: AuthorizationRequest,
    *,
    error: str | None = None,
    name: str = "",
    retry_after: int | None = None,
) -> Response:
    csrf_token = request.cookies.get(login.LOGIN_CSRF_COOKIE) or new_secret()
    response = pages.login_page(auth, csrf_token, error=error, login=name, retry_after=retry_after)
    _set_cookie(request, response, login.LOGIN_CSRF_COOKIE, csrf_token, None)
    return response


def _back_to_page(request: Request, auth: AuthorizationRequest) -> Response:
    # 303 after a successful POST, so reloading the page does not resubmit the form.
    location = f"{request.url.path}?{auth.query_string()}"
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"})


def _cookie_path(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{PREFIX}"


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_cookie_path(request),
        # Behind a TLS-terminating proxy the request itself may look like plain http.
        secure=request.url.scheme == "https"
        or (_settings(request).public_base_url or "").startswith("https://"),
        httponly=True,
        samesite="lax",
    )
