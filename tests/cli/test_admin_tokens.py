"""What `cmpapi users deactivate|activate` and `cmpapi apps rotate-secret|deactivate` do to a
running server, on both database backends: the installed command changes the database from
a process of its own, and the server's sign-in, token endpoint and API notice."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from cmpapi.server.settings import Settings
from tests.oauth.flow import Browser, assert_oauth_error, assert_unauthorized, bearer, query_of
from tests.support.local_cli import Ran, cmpapi, fields
from tests.support.world import PASSWORD, World

MEMBER = "member@example.com"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Every request reads its token: a change made by another process reaches a server's
    # principal cache only after token_cache_seconds otherwise (docs/oauth.md#revocation).
    return Settings(
        data_dir=tmp_path, database_url=database_url, worker_embedded=False, token_cache_seconds=0
    )


@pytest.fixture
def run(database_url: str, tmp_path: Path):
    def invoke(*args: str) -> Ran:
        ran = cmpapi(*args, cwd=tmp_path, CMPAPI_DATABASE_URL=database_url)
        assert ran.code == 0, ran.both
        return ran

    return invoke


def _member_tokens(browser: Browser) -> dict[str, str]:
    page = browser.consent_page(browser.params(), who=MEMBER, password=PASSWORD)
    answer = browser.submit(page, action="allow")
    code = query_of(answer.headers["location"])["code"]
    response = browser.exchange(code)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_deactivated_user_can_neither_sign_in_nor_use_tokens(
    http: httpx.Client, world: World, run
) -> None:
    browser = Browser(http, world)
    tokens = _member_tokens(browser)
    assert http.get("/v3/userlist", headers=bearer(tokens["access_token"])).status_code == 200

    out = run("users", "deactivate", MEMBER).out
    # The world's access token, and the access and refresh tokens of the code flow.
    assert re.fullmatch(rf"deactivated: {world.users['member'].id} \(3 tokens revoked\)\n", out)
    assert_unauthorized(http, world.tokens["member"])
    assert_unauthorized(http, tokens["access_token"])
    assert_oauth_error(browser.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    # Her browser's login session is gone too; signing in again is refused.
    refused = browser.login(browser.params(), who=MEMBER)
    assert refused.status_code == 200 and "Wrong username, email or password." in refused.text

    run("users", "activate", world.users["member"].id)
    assert browser.login(browser.params(), who=MEMBER).status_code == 303
    assert_unauthorized(http, tokens["access_token"])  # revoked tokens stay revoked


def test_rotating_the_secret_and_deactivating_an_app(http: httpx.Client, world: World, run) -> None:
    browser = Browser(http, world)
    client_credentials = {"grant_type": "client_credentials"}
    assert browser.token(client_credentials).status_code == 200

    rotated = fields(run("apps", "rotate-secret", world.app.client_id).out)
    assert rotated["client_id"] == world.app.client_id
    assert_oauth_error(browser.token(client_credentials), 401, "invalid_client")  # the old one
    world.client_secret = rotated["client_secret"]
    issued = browser.token(client_credentials)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert http.get("/v3/userlist", headers=bearer(token)).status_code == 200
    assert http.get("/v3/userlist", headers=world.auth("admin")).status_code == 200

    assert "deactivated: " in run("apps", "deactivate", world.app.id).out
    assert_oauth_error(browser.token(client_credentials), 401, "invalid_client")
    assert_unauthorized(http, token)
    assert_unauthorized(http, world.tokens["admin"])
