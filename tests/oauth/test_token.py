"""The token endpoint: refresh rotation, client_credentials, client auth and errors."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.oauth import store
from tests.oauth.flow import (
    TOKEN,
    USERINFO,
    Browser,
    assert_oauth_error,
    assert_unauthorized,
    bearer,
)

CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


def test_refresh_rotates_and_reuse_revokes_the_grant(browser: Browser) -> None:
    first = browser.tokens()
    second = browser.refresh(first["refresh_token"]).json()
    third = browser.refresh(second["refresh_token"]).json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert third["expires_in"] == 3600
    assert third["scope"] == "openid profile offline_access"
    assert browser.http.get("/v3/userlist", headers=bearer(third["access_token"])).is_success

    assert_oauth_error(browser.refresh(first["refresh_token"]), 400, "invalid_grant")

    assert_unauthorized(browser.http, third["access_token"])
    assert_oauth_error(browser.refresh(third["refresh_token"]), 400, "invalid_grant")


def test_refresh_can_narrow_the_scope_but_not_widen_it(browser: Browser) -> None:
    tokens = browser.tokens(scope="openid offline_access")

    narrowed = browser.refresh(tokens["refresh_token"], scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"

    widened = browser.refresh(narrowed.json()["refresh_token"], scope="openid profile")
    assert_oauth_error(widened, 400, "invalid_scope")


def test_refresh_token_of_another_client_is_refused(browser: Browser, db: Session) -> None:
    tokens = browser.tokens()
    other, secret = store.create_app(
        db, browser.world.org.id, name="Other", redirect_uris=["https://o.example.com/cb"]
    )
    db.commit()

    response = browser.http.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(other.client_id, secret),
    )

    assert_oauth_error(response, 400, "invalid_grant")


def test_client_credentials_acts_as_the_token_user(
    browser: Browser, subtests: pytest.Subtests
) -> None:
    admin = browser.world.users["admin"]
    for how in ("form", "json", "basic"):
        with subtests.test(client_auth=how):
            response = browser.token(CLIENT_CREDENTIALS, how)

            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
            assert body["expires_in"] == 3600
            assert body["scope"] == "openid profile offline_access"
            token = bearer(body["access_token"])
            user = browser.http.get(f"/v3/users/{admin.id}", headers=token)
            assert user.status_code == 200
            assert user.json()["id"] == admin.id
            assert browser.http.get(USERINFO, headers=token).json()["sub"] == admin.id
    scoped = browser.token(CLIENT_CREDENTIALS | {"scope": "profile  openid"})
    assert scoped.json()["scope"] == "openid profile"


def test_client_credentials_needs_a_token_user(browser: Browser, db: Session) -> None:
    app, secret = store.create_app(
        db, browser.world.org.id, name="No user", redirect_uris=["https://n.example.com/cb"]
    )
    db.commit()

    response = browser.http.post(
        TOKEN, data=CLIENT_CREDENTIALS | {"client_id": app.client_id, "client_secret": secret}
    )

    assert_oauth_error(response, 400, "unauthorized_client")
    assert "token user" in response.json()["error_description"]


def test_client_authentication_failures(browser: Browser, subtests: pytest.Subtests) -> None:
    client_id = browser.world.app.client_id
    with subtests.test(case="wrong-secret-basic"):
        response = browser.http.post(TOKEN, data=CLIENT_CREDENTIALS, auth=(client_id, "wrong"))
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"].startswith("Basic ")
    failures = {
        "wrong-secret": {"client_id": client_id, "client_secret": "wrong"},
        "unknown-client": {"client_id": "nobody", "client_secret": "x"},
        "no-secret": {"client_id": client_id},
        "no-credentials": {},
    }
    for case, creds in failures.items():
        with subtests.test(case=case):
            response = browser.http.post(TOKEN, data=CLIENT_CREDENTIALS | creds)
            assert_oauth_error(response, 401, "invalid_client")
            # The Basic challenge only answers Basic credentials (RFC 6749 §5.2).
            assert "www-authenticate" not in response.headers


REQUEST_ERRORS = [
    ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
    ({"grant_type": "client_credentials", "scope": "openid admin"}, "invalid_scope"),
    ({"grant_type": "client_credentials", "scope": 'openid "x"'}, "invalid_scope"),
    ({"scope": "openid"}, "invalid_request"),
    ({"grant_type": "authorization_code"}, "invalid_request"),
    ({"grant_type": "refresh_token"}, "invalid_request"),
]


def test_request_errors(browser: Browser, subtests: pytest.Subtests) -> None:
    for body, error in REQUEST_ERRORS:
        for how in ("form", "json"):
            with subtests.test(body=body, encoding=how):
                assert_oauth_error(browser.token(body, how), 400, error)


def test_malformed_bodies_are_invalid_requests(browser: Browser) -> None:
    http = browser.http
    headers = {"Content-Type": "application/json"}
    for content in (b"{not json", b'["a"]', b'{"grant_type": 3}'):
        response = http.post(TOKEN, content=content, headers=headers)
        assert_oauth_error(response, 400, "invalid_request")
    repeated = "grant_type=client_credentials&grant_type=refresh_token"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_oauth_error(http.post(TOKEN, content=repeated, headers=form), 400, "invalid_request")
    too_big = http.post(TOKEN, content=b"a=" + b"x" * 70_000, headers=form)
    assert_oauth_error(too_big, 400, "invalid_request")
