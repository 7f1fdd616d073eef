"""RFC 8252 §7.3: a registered loopback redirect URI is accepted on any port (a CLI listens
on a port it gets at the time of the request); nothing else about it may vary."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.oauth import store
from tests.oauth.flow import AUTH, Browser, query_of

REGISTERED = ["http://localhost:3000/callback", "http://127.0.0.1/cb?app=1", "http://[::1]/cb"]
ACCEPTED = [
    "http://localhost:51234/callback",
    "http://localhost/callback",
    "http://127.0.0.1:8765/cb?app=1",
    "http://[::1]:9000/cb",
]
REFUSED = [
    "https://localhost:51234/callback",  # another scheme
    "http://127.0.0.1:51234/callback",  # another host than the registered one
    "http://localhost:51234/callback/x",  # another path
    "http://localhost:51234/Callback",
    "http://127.0.0.1:8765/cb?app=2",  # another query
    "http://127.0.0.1:8765/cb",
    "http://localhost:51234/callback#x",
    "http://user@localhost:51234/callback",
    "http://localhost:3000@evil.example.com/callback",
    "http://localhost:99999/callback",  # not a port
    "http://localhost.evil.example.com:3000/callback",
]


@pytest.fixture
def loopback_app(browser: Browser, db: Session) -> tuple[str, str]:
    app, secret = store.create_app(
        db, browser.world.org.id, name="Loopback", redirect_uris=REGISTERED
    )
    db.commit()
    return app.client_id, secret


def test_a_loopback_redirect_uri_may_use_any_port(
    browser: Browser, loopback_app: tuple[str, str], subtests: pytest.Subtests
) -> None:
    client_id, secret = loopback_app
    for uri in ACCEPTED:
        with subtests.test(uri=uri):
            params = browser.params(client_id=client_id, redirect_uri=uri)
            answer = browser.submit(browser.consent_page(params), action="allow")
            assert answer.status_code == 302, answer.text
            location = answer.headers["location"]
            assert location.startswith(uri + ("&" if "?" in uri else "?"))
            # The code is bound to the URI with its port: the exchange names that one.
            body = {"grant_type": "authorization_code", "code": query_of(location)["code"]}
            creds = {"client_id": client_id, "client_secret": secret}
            other_port = browser.http.post(
                "/o/oauth2/v1/token", data=body | creds | {"redirect_uri": REGISTERED[0]}
            )
            assert other_port.status_code == 400, other_port.text
            assert other_port.json()["error"] == "invalid_grant"


def test_everything_but_the_port_must_match(
    browser: Browser, loopback_app: tuple[str, str], subtests: pytest.Subtests
) -> None:
    client_id, _ = loopback_app
    for uri in REFUSED:
        with subtests.test(uri=uri):
            response = browser.http.get(
                AUTH, params=browser.params(client_id=client_id, redirect_uri=uri)
            )
            assert response.status_code == 400, response.text
            assert "location" not in response.headers
            assert "not registered" in response.text


def test_a_registered_non_loopback_uri_gets_no_port_leeway(browser: Browser) -> None:
    # The world's app registers https://app.example.com/callback.
    response = browser.http.get(
        AUTH, params=browser.params(redirect_uri="https://app.example.com:8443/callback")
    )
    assert response.status_code == 400
    assert "location" not in response.headers
