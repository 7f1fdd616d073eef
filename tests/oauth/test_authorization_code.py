"""The authorization code flow end to end: pages, code exchange, PKCE, replay."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.oauth.tables import AuthorizationCode
from tests.oauth.flow import (
    AUTH,
    USERINFO,
    Browser,
    assert_oauth_error,
    assert_unauthorized,
    bearer,
    s256,
)
from tests.support.world import REDIRECT_URI

VERIFIER = "v" * 20 + "-._~" + "0123456789abcdefghijklmnop"  # 50 unreserved characters


@pytest.mark.parametrize("how", ["form", "json", "basic"])
def test_code_flow_gives_tokens_that_work_on_v3(browser: Browser, how: str) -> None:
    query = browser.authorize()
    assert query["state"] == "st-123"

    response = browser.exchange(query["code"], how)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid profile offline_access"
    users = browser.http.get("/v3/userlist", headers=bearer(body["access_token"]))
    assert users.status_code == 200
    assert len(users.json()["data"]) == 3
    claims = browser.http.get(USERINFO, headers=bearer(body["access_token"])).json()
    admin = browser.world.users["admin"]
    assert claims == {"sub": admin.id, "name": "Admin Acme", "preferred_username": "admin"}


def test_login_with_wrong_password_shows_the_form_again(browser: Browser) -> None:
    response = browser.login(browser.params(), password="wrong")

    assert response.status_code == 200
    assert "Wrong username, email or password." in response.text
    assert 'name="password"' in response.text
    assert "location" not in response.headers
    assert 'value="admin@example.com"' in response.text


def test_login_form_without_its_csrf_token_is_refused(browser: Browser) -> None:
    page = browser.http.get(AUTH, params=browser.params())
    browser.http.cookies.clear()

    response = browser.submit(page, login="admin@example.com", password="x")

    assert response.status_code == 200
    assert "The form expired" in response.text


def test_deny_sends_access_denied_with_the_state(browser: Browser) -> None:
    query = browser.authorize("deny")

    assert query["error"] == "access_denied"
    assert query["state"] == "st-123"
    assert "code" not in query


def test_consent_form_with_a_wrong_csrf_token_is_refused(browser: Browser) -> None:
    page = browser.consent_page(browser.params())

    response = browser.submit(page, action="allow", csrf_token="forged")

    assert response.status_code == 403
    assert "location" not in response.headers


def test_sign_out_returns_to_the_login_page(browser: Browser) -> None:
    page = browser.consent_page(browser.params())

    response = browser.submit(page, action="logout")

    assert response.status_code == 303
    login_page = browser.http.get(AUTH, params=browser.params())
    assert 'name="password"' in login_page.text


def test_user_of_another_organization_cannot_authorize(browser: Browser, db: Session) -> None:
    from tests.support.world import build_world

    build_world(db, org_name="Other", prefix="other-")

    response = browser.login(browser.params(), who="other-admin@example.com")

    assert response.status_code == 200
    assert "another organization" in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"redirect_uri": "https://evil.example.com/callback"},
        {"redirect_uri": REDIRECT_URI + "/extra"},
        {"client_id": "no-such-client"},
        {"client_id": None},
    ],
    ids=["foreign-redirect", "prefix-redirect", "unknown-client", "no-client"],
)
def test_untrusted_request_gets_an_error_page_not_a_redirect(
    browser: Browser, params: dict[str, str | None]
) -> None:
    response = browser.http.get(AUTH, params=browser.params(**params))

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert "<h1>" in response.text


def test_raw_redirect_uri_in_the_query_is_tolerated(browser: Browser) -> None:
    url = (
        f"{AUTH}?response_type=code&client_id={browser.world.app.client_id}"
        f"&redirect_uri={REDIRECT_URI}&state=raw"
    )

    page = browser.http.get(url)

    assert page.status_code == 200
    assert 'name="password"' in page.text


def test_omitted_redirect_uri_uses_the_only_registered_one(browser: Browser) -> None:
    query = browser.authorize(redirect_uri=None, scope=None)

    response = browser.token({"grant_type": "authorization_code", "code": query["code"]})

    assert response.status_code == 200
    assert response.json()["scope"] == "openid profile offline_access"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": s256(VERIFIER), "code_challenge_method": "S512"}, "invalid_request"),
    ],
)
def test_invalid_request_is_sent_back_to_the_client(
    browser: Browser, params: dict[str, str | None], error: str
) -> None:
    response = browser.http.get(AUTH, params=browser.params(**params))

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert f"error={error}" in location
    assert "state=st-123" in location


def test_pkce_s256_requires_the_matching_verifier(browser: Browser) -> None:
    code = browser.code(code_challenge=s256(VERIFIER), code_challenge_method="S256")

    assert_oauth_error(browser.exchange(code), 400, "invalid_grant")
    assert_oauth_error(browser.exchange(code, code_verifier="w" * 50), 400, "invalid_grant")
    response = browser.exchange(code, code_verifier=VERIFIER)

    assert response.status_code == 200, response.text


def test_pkce_plain(browser: Browser) -> None:
    code = browser.code(code_challenge=VERIFIER)

    assert browser.exchange(code, code_verifier=VERIFIER).status_code == 200


def test_verifier_without_a_challenge_is_refused(browser: Browser) -> None:
    code = browser.code()

    assert_oauth_error(browser.exchange(code, code_verifier=VERIFIER), 400, "invalid_grant")


def test_replayed_code_fails_and_revokes_the_first_tokens(browser: Browser) -> None:
    code = browser.code()
    first = browser.exchange(code).json()
    assert browser.http.get("/v3/userlist", headers=bearer(first["access_token"])).is_success

    assert_oauth_error(browser.exchange(code), 400, "invalid_grant")

    assert_unauthorized(browser.http, first["access_token"])
    assert_oauth_error(browser.refresh(first["refresh_token"]), 400, "invalid_grant")


def test_expired_code_is_refused(browser: Browser, db: Session) -> None:
    code = browser.code()
    for row in db.query(AuthorizationCode):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()

    assert_oauth_error(browser.exchange(code), 400, "invalid_grant")


def test_code_with_another_redirect_uri_is_refused(browser: Browser) -> None:
    code = browser.code()

    response = browser.exchange(code, redirect_uri="https://app.example.com/other")

    assert_oauth_error(response, 400, "invalid_grant")


def test_unknown_code_is_refused(browser: Browser, http: httpx.Client) -> None:
    assert_oauth_error(browser.exchange("not-a-code"), 400, "invalid_grant")
