"""The authorization code flow end to end: pages, code exchange, PKCE, replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.identity import service as identity
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
from tests.support.world import PASSWORD, REDIRECT_URI

VERIFIER = "v" * 20 + "-._~" + "0123456789abcdefghijklmnop"  # 50 unreserved characters


def test_code_flow_gives_tokens_that_work_on_v3(
    browser: Browser, subtests: pytest.Subtests
) -> None:
    admin = browser.world.users["admin"]
    for how in ("form", "json", "basic"):
        with subtests.test(client_auth=how):
            query = browser.authorize()
            assert query["state"] == "st-123"

            response = browser.exchange(query["code"], how)

            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "no-store"
            body = response.json()
            assert set(body) == {
                "access_token",
                "token_type",
                "expires_in",
                "refresh_token",
                "scope",
            }
            assert body["token_type"] == "Bearer"
            assert body["expires_in"] == 3600
            assert body["scope"] == "openid profile offline_access"
            users = browser.http.get("/v3/userlist", headers=bearer(body["access_token"]))
            assert users.status_code == 200
            assert len(users.json()["data"]) == 3
            claims = browser.http.get(USERINFO, headers=bearer(body["access_token"])).json()
            assert claims == {"sub": admin.id, "name": "Admin Acme", "preferred_username": "admin"}


def test_login_with_wrong_password_shows_the_form_again(browser: Browser) -> None:
    response = browser.login(browser.params(), password="wrong")

    assert response.status_code == 200
    assert "Wrong username, email or password." in response.text
    assert 'name="password"' in response.text
    assert "location" not in response.headers
    assert 'value="admin@example.com"' in response.text


def test_deny_sends_access_denied_with_the_state(browser: Browser) -> None:
    query = browser.authorize("deny")

    assert query["error"] == "access_denied"
    assert query["state"] == "st-123"
    assert "code" not in query


def test_forms_need_their_csrf_tokens(browser: Browser) -> None:
    login_page = browser.http.get(AUTH, params=browser.params())
    browser.http.cookies.clear()
    refused_login = browser.submit(login_page, login="admin@example.com", password="x")
    assert refused_login.status_code == 200
    assert "The form expired" in refused_login.text

    consent = browser.consent_page(browser.params())
    refused_consent = browser.submit(consent, action="allow", csrf_token="forged")

    assert refused_consent.status_code == 403
    assert "location" not in refused_consent.headers


def test_sign_out_returns_to_the_login_page(browser: Browser) -> None:
    page = browser.consent_page(browser.params())

    response = browser.submit(page, action="logout")

    assert response.status_code == 303
    login_page = browser.http.get(AUTH, params=browser.params())
    assert 'name="password"' in login_page.text


def test_user_of_another_organization_cannot_authorize(browser: Browser, db: Session) -> None:
    other = identity.create_organization(db, "Other")
    identity.create_user(db, other.id, email="o@example.com", name="O", password=PASSWORD)
    db.commit()

    response = browser.login(browser.params(), who="o@example.com")

    assert response.status_code == 200
    assert "another organization" in response.text
    assert "location" not in response.headers


UNTRUSTED: dict[str, dict[str, str | None]] = {
    "foreign-redirect": {"redirect_uri": "https://evil.example.com/callback"},
    "prefix-redirect": {"redirect_uri": REDIRECT_URI + "/extra"},
    "unknown-client": {"client_id": "no-such-client"},
    "no-client": {"client_id": None},
}


def test_untrusted_request_gets_an_error_page_not_a_redirect(
    browser: Browser, subtests: pytest.Subtests
) -> None:
    for case, params in UNTRUSTED.items():
        with subtests.test(case=case):
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


REDIRECTED_ERRORS: list[tuple[dict[str, str | None], str]] = [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge": s256(VERIFIER), "code_challenge_method": "S512"}, "invalid_request"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
]


def test_invalid_request_is_sent_back_to_the_client(
    browser: Browser, subtests: pytest.Subtests
) -> None:
    for params, error in REDIRECTED_ERRORS:
        with subtests.test(params=params):
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


def test_pkce_plain_and_downgrade(browser: Browser) -> None:
    plain = browser.code(code_challenge=VERIFIER)
    assert browser.exchange(plain, code_verifier=VERIFIER).status_code == 200

    # RFC 9700 §4.8.2: a verifier for a code issued without a challenge is refused.
    without = browser.code()
    assert_oauth_error(browser.exchange(without, code_verifier=VERIFIER), 400, "invalid_grant")


def test_replayed_code_fails_and_revokes_the_first_tokens(browser: Browser) -> None:
    code = browser.code()
    first = browser.exchange(code).json()
    assert browser.http.get("/v3/userlist", headers=bearer(first["access_token"])).is_success

    assert_oauth_error(browser.exchange(code), 400, "invalid_grant")

    assert_unauthorized(browser.http, first["access_token"])
    assert_oauth_error(browser.refresh(first["refresh_token"]), 400, "invalid_grant")


def test_code_exchange_errors(browser: Browser, db: Session) -> None:
    assert_oauth_error(browser.exchange("not-a-code"), 400, "invalid_grant")
    other_uri = browser.exchange(browser.code(), redirect_uri="https://app.example.com/other")
    assert_oauth_error(other_uri, 400, "invalid_grant")

    code = browser.code()
    for row in db.query(AuthorizationCode):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()

    assert_oauth_error(browser.exchange(code), 400, "invalid_grant")
