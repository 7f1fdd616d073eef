"""What the SDK sends to the real CMP's default URLs, and how it reacts to what comes back:
tokens, refresh, pages, retries, errors. The far end is an ``httpx.MockTransport`` that
plays the CMP (the issue asks for exactly this for the real service's URLs); everything
on our side is the real SDK. Flows against a live cmpapi server are in test_live.py."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from cmpapi.client import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    Client,
    CMPError,
    FileTokenStore,
    OAuthError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    Token,
    UnexpectedResponseError,
    UnprocessableEntityError,
)

API = "https://api.cmp.optimizely.com/v3"
TOKEN_URL = "https://accounts.cmp.optimizely.com/o/oauth2/v1/token"
Handler = Callable[[httpx.Request], httpx.Response]


def page(items: list[dict[str, str]], next_url: str | None) -> dict[str, object]:
    return {"data": items, "pagination": {"next": next_url, "previous": None}}


USER = {
    "first_name": "Lea",
    "full_name": "Lea Legal",
    "id": "3e07b9936db95cdbbec3616421792e5c",
    "image_url": None,
    "last_name": "Legal",
    "links": {"self": f"{API}/users/3e07b9936db95cdbbec3616421792e5c"},
    "roles": [{"name": "Member"}],
}


def user(n: int) -> dict[str, object]:
    """A user list item as the CMP sends it, with id ``n`` in hex."""
    return {**USER, "id": f"{n:024x}"}


class CMP:
    """Plays the CMP: records every request, answers from a queue of handlers per URL."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, list[Handler]] = {}

    def on(self, url: str, *handlers: Handler) -> None:
        self.routes.setdefault(url, []).extend(handlers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = str(request.url.copy_with(query=None))
        queue = self.routes.get(key) or []
        assert queue, f"unexpected request {request.method} {request.url}"
        handler = queue.pop(0) if len(queue) > 1 else queue[0]
        return handler(request)

    def client(self, **options: object) -> Client:
        options.setdefault("max_retries", 3)
        return Client(transport=httpx.MockTransport(self), **options)  # type: ignore[arg-type]


def answer(status: int, body: object = None, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def token_answer(access: str, refresh: str | None = None, expires_in: int = 3600) -> Handler:
    body: dict[str, object] = {"access_token": access, "token_type": "Bearer"}
    body["expires_in"] = expires_in
    if refresh:
        body["refresh_token"] = refresh
    return answer(200, body)


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries wait as the policy says, but the test does not sleep through it."""
    waits: list[float] = []
    from cmpapi.client._sync import _http as sync_http

    monkeypatch.setattr(sync_http, "sleep", waits.append)
    return waits


def test_client_credentials_token_list_page_and_next_page() -> None:
    """The requests the SDK sends to the real CMP: the token, a list page, the next page
    exactly as the server linked it."""
    cmp = CMP()
    cmp.on(TOKEN_URL, token_answer("access-1"))
    second = f"{API}/userlist?offset=2&page_size=2&x=%C3%A9"
    cmp.on(f"{API}/userlist", answer(200, page([user(1), user(2)], second)))
    cmp.on(f"{API}/userlist", answer(200, page([user(3)], None)))
    client = cmp.client(client_id="app", client_secret="s3cret")
    ids = [u.id for u in client.users.list_users(page_size=2)]
    assert ids == [f"{n:024x}" for n in (1, 2, 3)]
    token, first, following = cmp.requests
    assert (token.method, str(token.url)) == ("POST", TOKEN_URL)
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(token) == {
        "grant_type": "client_credentials",
        "client_id": "app",
        "client_secret": "s3cret",
    }
    assert (first.method, str(first.url)) == ("GET", f"{API}/userlist?page_size=2")
    assert first.headers["authorization"] == "Bearer access-1"
    assert first.headers["user-agent"].startswith("cmpapi-python/")
    assert str(following.url) == second
    assert following.headers["authorization"] == "Bearer access-1"


def test_refresh_token_grant_before_expiry_rotates_and_calls_the_hook(tmp_path: Path) -> None:
    cmp = CMP()
    cmp.on(TOKEN_URL, token_answer("access-2", "refresh-2"))
    cmp.on(f"{API}/teams", answer(200, page([], None)))
    store = FileTokenStore(tmp_path / "tokens.json", key="work")
    store.save(Token("access-1", expires_at=time.time() + 5, refresh_token="refresh-1"))
    seen: list[Token] = []
    client = cmp.client(
        client_id="app", client_secret="s", token_store=store, on_token_refresh=seen.append
    )
    list(client.teams.list_teams())
    refresh, call = cmp.requests
    assert form(refresh) == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "app",
        "client_secret": "s",
    }
    assert call.headers["authorization"] == "Bearer access-2"
    assert [t.access_token for t in seen] == ["access-2"]
    stored = store.load()
    assert stored is not None and stored.refresh_token == "refresh-2"
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


def test_a_401_refreshes_once_then_gives_up() -> None:
    cmp = CMP()
    cmp.on(TOKEN_URL, token_answer("access-2", "refresh-2"), token_answer("access-3", "r3"))
    refused = answer(401, {"message": "Unauthorized"})
    cmp.on(f"{API}/teams", refused, answer(200, page([], None)))
    client = cmp.client(client_id="app", token=Token("access-1", refresh_token="refresh-1"))
    assert list(client.teams.list_teams()) == []
    assert [r.headers.get("authorization") for r in cmp.requests] == [
        "Bearer access-1",
        None,
        "Bearer access-2",
    ]
    cmp.routes[f"{API}/teams"] = [refused]
    with pytest.raises(AuthenticationError) as caught:
        list(client.teams.list_teams())
    assert caught.value.status == 401 and caught.value.message == "Unauthorized"


def test_a_static_token_is_sent_as_is_and_a_401_is_final() -> None:
    cmp = CMP()
    cmp.on(f"{API}/teams", answer(401, {"message": "Unauthorized"}))
    with pytest.raises(AuthenticationError):
        cmp.client(token="abc").teams.list_teams().first_page()
    assert len(cmp.requests) == 1


def test_refused_grant_raises_the_oauth_error() -> None:
    cmp = CMP()
    cmp.on(TOKEN_URL, answer(401, {"error": "invalid_client", "error_description": "bad"}))
    with pytest.raises(OAuthError) as caught:
        cmp.client(client_id="app", client_secret="wrong").teams.list_teams().first_page()
    assert (caught.value.status, caught.value.error) == (401, "invalid_client")


def test_429_is_retried_after_retry_after_then_given_up(no_backoff: list[float]) -> None:
    cmp = CMP()
    busy = answer(429, {"message": "Too many requests"}, **{"Retry-After": "2"})
    cmp.on(f"{API}/teams", busy, answer(200, page([], None)))
    client = cmp.client(token="abc")
    assert client.teams.list_teams().first_page().data == []
    assert no_backoff == [2.0]
    cmp.routes[f"{API}/teams"] = [busy]
    with pytest.raises(RateLimitError):
        client.teams.list_teams().first_page()
    assert len(cmp.requests) == 2 + 4  # one try and three retries


def test_5xx_is_retried_for_get_with_backoff_but_not_for_post(no_backoff: list[float]) -> None:
    cmp = CMP()
    failing = answer(503, {"message": "Unavailable"})
    cmp.on(f"{API}/teams", failing, failing, answer(200, page([], None)))
    client = cmp.client(token="abc")
    client.teams.list_teams().first_page()
    assert len(no_backoff) == 2 and all(0 <= w <= 1.0 for w in no_backoff)
    cmp.on(f"{API}/folders", failing)
    with pytest.raises(ServerError) as caught:
        client.library.create_folder(body={"name": "x"})
    assert caught.value.status == 503
    assert [r.method for r in cmp.requests].count("POST") == 1


def test_connection_errors_are_retried_then_raised(no_backoff: list[float]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = Client(token="abc", transport=httpx.MockTransport(refuse), max_retries=2)
    with pytest.raises(APIConnectionError):
        client.teams.list_teams().first_page()
    assert len(no_backoff) == 2


def test_field_errors_and_the_request_body() -> None:
    cmp = CMP()
    errors = {"name": "Field required"}
    cmp.on(f"{API}/folders", answer(422, {"message": "Invalid request", "errors": errors}))
    with pytest.raises(UnprocessableEntityError) as caught:
        cmp.client(token="abc").library.create_folder(body={"name": "Q1", "parent_folder_id": None})
    assert caught.value.errors == errors and "name: Field required" in str(caught.value)
    sent = cmp.requests[0]
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {"name": "Q1", "parent_folder_id": None}


def test_a_next_link_to_another_origin_does_not_get_the_token() -> None:
    cmp = CMP()
    cmp.on(f"{API}/teams", answer(200, page([], "https://evil.example/v3/teams?offset=10")))
    pages = cmp.client(token="abc").teams.list_teams().pages()
    next(pages)
    with pytest.raises(CMPError, match=r"evil\.example"):
        next(pages)


def test_list_asset_filters_are_encoded_as_the_spec_says() -> None:
    cmp = CMP()
    cmp.on(f"{API}/assets", answer(200, {**page([], None), "total_count": 0}))
    label = {"group": "g1", "values": ["v1"]}
    cmp.client(token="abc").library.list_assets(
        type=["image", "video"], label=[label], fields=[{"id": "f", "values": ["c"]}]
    ).first_page()
    query = parse_qs(cmp.requests[0].url.query.decode())
    assert query["type"] == ["image", "video"]
    assert [json.loads(v) for v in query["label"]] == [label]
    assert query["fields"] == ["W3siaWQiOiJmIiwidmFsdWVzIjpbImMiXX1d"]


def test_async_client_sends_the_same_requests() -> None:
    cmp = CMP()
    cmp.on(TOKEN_URL, token_answer("access-1"))
    cmp.on(f"{API}/userlist", answer(200, page([user(1)], f"{API}/userlist?offset=1")))
    cmp.on(f"{API}/userlist", answer(200, page([user(2)], None)))

    async def run() -> list[str]:
        transport = httpx.MockTransport(cmp)
        async with AsyncClient(client_id="a", client_secret="s", transport=transport) as client:
            return [u.id async for u in client.users.list_users()]

    assert asyncio.run(run()) == [f"{n:024x}" for n in (1, 2)]
    assert [str(r.url) for r in cmp.requests] == [
        TOKEN_URL,
        f"{API}/userlist",
        f"{API}/userlist?offset=1",
    ]


def test_new_fields_from_the_server_do_not_break_the_client() -> None:
    cmp = CMP()
    cmp.on(f"{API}/userlist", answer(200, page([{**user(1), "pronouns": "she"}], None)))
    (found,) = list(cmp.client(token="abc").users.list_users())
    assert found.model_extra == {"pronouns": "she"}


def test_arguments_of_the_wrong_type_are_refused_before_sending() -> None:
    cmp = CMP()
    with pytest.raises(RequestValidationError) as caught:
        cmp.client(token="abc").library.create_folder(body={"name": 12})
    assert list(caught.value.errors) == ["name"] and cmp.requests == []
    with pytest.raises(RequestValidationError):
        cmp.client(token="abc").library.list_assets(page_size=1000).first_page()


def test_an_answer_of_the_wrong_shape_raises_unexpected_response() -> None:
    cmp = CMP()
    cmp.on(f"{API}/teams", answer(200, {"data": "nope"}))
    with pytest.raises(UnexpectedResponseError, match="/v3/teams"):
        cmp.client(token="abc").teams.list_teams().first_page()
