"""The OAuth test helper: a browser-like walk through the authorization pages.

Everything goes over real HTTP to the live server; cookies are kept by the httpx
client, forms are read from the served HTML and posted back as a browser would.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.world import PASSWORD, REDIRECT_URI, World

AUTH = "/o/oauth2/v1/auth"
TOKEN = "/o/oauth2/v1/token"
USERINFO = "/o/oauth2/v1/userinfo"
REVOKE = "/o/oauth2/v1/revoke"

_FORM = re.compile(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def s256(verifier: str) -> str:
    """The RFC 7636 S256 challenge, computed independently of the server's code."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(location: str) -> dict[str, str]:
    """The single-valued query parameters of a redirect Location."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit_form(http: httpx.Client, page: httpx.Response, **fields: str) -> httpx.Response:
    """Post ``page``'s first form back as a browser would: its hidden fields plus ``fields``."""
    action, body = _FORM.findall(page.text)[0]
    data = {name: html.unescape(value) for name, value in _HIDDEN.findall(body)}
    url = urljoin(str(page.url), html.unescape(action))
    return http.post(url, data=data | fields)


def sign_in_and_decide(
    url: str, login: str, password: str, decision: str = "allow"
) -> httpx.Response:
    """A fresh browser opens the authorization ``url``, signs in and allows (or denies);
    the 302 back to the client."""
    with httpx.Client() as browser:
        signed_in = submit_form(browser, browser.get(url), login=login, password=password)
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(urljoin(str(signed_in.url), signed_in.headers["location"]))
        decided = submit_form(browser, consent, action=decision)
        assert decided.status_code == 302, decided.text
        return decided


@dataclass
class Browser:
    """Drives the authorization pages for one app of the world."""

    http: httpx.Client
    world: World

    def params(self, **extra: str | None) -> dict[str, str]:
        base: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.world.app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile offline_access",
            "state": "st-123",
        }
        return {k: v for k, v in (base | extra).items() if v is not None}

    def submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        """Post the page's first form with its hidden fields plus ``fields``."""
        return submit_form(self.http, page, **fields)

    def login(
        self, params: dict[str, str], who: str = "admin@example.com", password: str = PASSWORD
    ) -> httpx.Response:
        page = self.http.get(AUTH, params=params)
        assert page.status_code == 200, page.text
        assert 'name="password"' in page.text
        return self.submit(page, login=who, password=password)

    def consent_page(self, params: dict[str, str], **login: str) -> httpx.Response:
        """The consent page, signing in first (and following the 303) when needed."""
        page = self.http.get(AUTH, params=params)
        if 'name="password"' in page.text:
            signed_in = self.login(params, **login)
            assert signed_in.status_code == 303, signed_in.text
            page = self.http.get(urljoin(str(signed_in.url), signed_in.headers["location"]))
        assert page.status_code == 200
        assert "Allow" in page.text
        return page

    def authorize(self, decision: str = "allow", **extra: str | None) -> dict[str, str]:
        """The full flow; the query the browser is sent back to the client with."""
        page = self.consent_page(self.params(**extra))
        answer = self.submit(page, action=decision)
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        return query_of(location)

    def code(self, **extra: str | None) -> str:
        return self.authorize(**extra)["code"]

    def token(self, body: dict[str, str], how: str = "form") -> httpx.Response:
        """POST to the token endpoint with the app's credentials sent ``how``."""
        creds = {"client_id": self.world.app.client_id, "client_secret": self.world.client_secret}
        if how == "basic":
            return self.http.post(
                TOKEN, data=body, auth=(creds["client_id"], creds["client_secret"])
            )
        if how == "json":
            return self.http.post(TOKEN, json=body | creds)
        return self.http.post(TOKEN, data=body | creds)

    def exchange(self, code: str, how: str = "form", **extra: str) -> httpx.Response:
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        return self.token(body | extra, how)

    def tokens(self, **extra: str | None) -> dict[str, Any]:
        """Access and refresh tokens from a fresh authorization-code flow."""
        response = self.exchange(self.code(**extra))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refresh(self, refresh_token: str, **extra: str) -> httpx.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token} | extra)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert isinstance(response.json()["error_description"], str)
    assert response.headers["cache-control"] == "no-store"


def assert_unauthorized(http: httpx.Client, token: str) -> None:
    response = http.get("/v3/userlist", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
