"""The SDK against a live ``cmpapi serve --demo`` process: the authorization code flow with
PKCE and a refresh, client credentials, pages followed to the end in both flavours, errors
with their field errors, and a token store that outlives the client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cmpapi.client import (
    EVENT_NAMES,
    EVENT_TYPES,
    AsyncClient,
    AuthenticationError,
    Client,
    CMPError,
    FileTokenStore,
    NotFoundError,
    OAuthError,
    Token,
    UnprocessableEntityError,
    parse_event,
)
from tests.oauth.flow import query_of, sign_in_and_decide
from tests.support.servers import demo_process

CLIENT_ID = "cmpapi-demo-app"
SECRET = "cmpapi-demo-secret-do-not-use-in-production"
REDIRECT_URI = "http://localhost:3000/callback"
ADMIN, PASSWORD = "ada.admin@demo.cmpapi.dev", "demo-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One demo server process for the module; its root URL."""
    with demo_process(tmp_path_factory.mktemp("sdk") / "data") as (_proc, base):
        yield base


@pytest.fixture
def connect() -> Iterator[Callable[..., Client]]:
    """Makes clients (demo app credentials unless told otherwise); closes them after."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        made.append(Client(**options))
        return made[-1]

    yield make
    for client in made:
        client.close()


def play_browser(url: str) -> dict[str, str]:
    """Open the authorization URL, sign in, allow; the query of the redirect back."""
    answer = sign_in_and_decide(url, ADMIN, PASSWORD)
    assert answer.headers["location"].startswith(REDIRECT_URI + "?")
    return query_of(answer.headers["location"])


def test_authorization_code_with_pkce_then_refresh(
    server: str, connect: Callable[..., Client], tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    refreshed: list[Token] = []
    options = {"server": server, "client_id": CLIENT_ID, "client_secret": SECRET}
    client = connect(**options, token_store=store, on_token_refresh=refreshed.append)
    request = client.authorization_request(REDIRECT_URI)
    assert "code_challenge_method=S256" in request.url
    callback = play_browser(request.url)
    with pytest.raises(CMPError, match="state"):
        client.exchange_code(callback["code"], request, state="forged")
    token = client.exchange_code(callback["code"], request, state=callback["state"])
    assert token.refresh_token and token.expires_at and store.load() == token
    assert client.userinfo()["email"] == ADMIN
    first = token.refresh_token

    # Expired: the next call refreshes first, and the server rotates the refresh token.
    store.save(Token(token.access_token, expires_at=time.time() - 1, refresh_token=first))
    assert client.users.list_users(page_size=1).first_page().data
    assert len(refreshed) == 2 and refreshed[-1].refresh_token not in (None, first)

    # A second process with the same store goes on with the stored token.
    again = connect(**options, token_store=FileTokenStore(tmp_path / "tokens.json"))
    assert again.userinfo()["email"] == ADMIN
    # The spent refresh token is refused as the CMP refuses it.
    spent = connect(**options, token=Token("x", expires_at=0, refresh_token=first))
    with pytest.raises(OAuthError) as caught:
        spent.userinfo()
    assert caught.value.error == "invalid_grant"


def test_a_code_cannot_be_exchanged_without_its_verifier(
    server: str, connect: Callable[..., Client]
) -> None:
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    request = client.authorization_request(REDIRECT_URI)
    callback = play_browser(request.url)
    other = client.authorization_request(REDIRECT_URI)
    with pytest.raises(OAuthError):
        client.exchange_code(callback["code"], other)


def test_pages_are_followed_to_the_end_in_both_flavours(
    server: str, connect: Callable[..., Client]
) -> None:
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    parent = client.library.create_folder(body={"name": f"SDK pages {time.time_ns()}"})
    made = {
        client.library.create_folder(body={"name": f"f{i}", "parent_folder_id": parent.id}).id
        for i in range(7)
    }
    pager = client.library.list_folders(parent_folder_id=parent.id, page_size=3)
    assert {f.id for f in pager} == made
    pages = list(pager.pages())
    assert [len(p.data) for p in pages] == [3, 3, 1]
    assert pages[0].next_url and "parent_folder_id=" in pages[0].next_url
    assert pages[-1].next_url is None

    async def walk() -> set[str]:
        async with AsyncClient(server=server, client_id=CLIENT_ID, client_secret=SECRET) as aio:
            return {f.id async for f in aio.library.list_folders(parent_folder_id=parent.id)}

    assert asyncio.run(walk()) == made


def test_errors_carry_the_cmp_message_and_field_errors(
    server: str, connect: Callable[..., Client]
) -> None:
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    with pytest.raises(NotFoundError) as missing:
        client.library.get_folder("0" * 32)
    assert missing.value.status == 404 and missing.value.message
    with pytest.raises(UnprocessableEntityError) as invalid:
        client.library.create_folder(body={"name": "x", "unknown": 1})  # type: ignore[dict-item]
    assert invalid.value.status == 422 and invalid.value.errors
    with pytest.raises(AuthenticationError):
        connect(server=server, token="not-a-token").users.list_users().first_page()
    with pytest.raises(OAuthError) as refused:
        connect(server=server, client_id=CLIENT_ID, client_secret="wrong").fetch_token()
    assert refused.value.error == "invalid_client"


def test_revoke_forgets_the_token_and_the_server_refuses_it(
    server: str, connect: Callable[..., Client]
) -> None:
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    token = client.fetch_token()
    client.revoke()
    assert client.token is None
    with pytest.raises(AuthenticationError):
        connect(server=server, token=token.access_token).users.list_users().first_page()


def test_event_stream_and_sample_events(server: str, connect: Callable[..., Client]) -> None:
    """Sample events recorded through the SDK arrive on its event stream, each a webhook
    body that ``parse_event`` reads; a cursor resumes after the event it came with."""
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    start = datetime.now(UTC)
    names = ["task_added", "asset_added", "task_added"]
    triggered = [client.extensions.trigger_event(name)["id"] for name in names]
    stream = client.extensions.stream_events(since=start, event_names=["task_added", "asset_added"])
    received = []
    for event in stream:  # the demo's own seeding may have recorded some just before
        if event.webhook_id in triggered:
            received.append(event)
        if len(received) == len(triggered):
            break
    stream.close()  # type: ignore[attr-defined]
    assert [e.event_name for e in received] == names
    assert [e.webhook_id for e in received] == triggered
    assert [parse_event(e.body).event_name for e in received] == names
    resumed = client.extensions.stream_events(cursor=received[0].cursor, reconnect=False)
    assert [next(resumed).webhook_id, next(resumed).webhook_id] == triggered[1:]
    resumed.close()  # type: ignore[attr-defined]


def test_every_sample_event_is_a_typed_event(server: str, connect: Callable[..., Client]) -> None:
    client = connect(server=server, client_id=CLIENT_ID, client_secret=SECRET)
    for name in sorted(EVENT_NAMES):
        recorded = client.extensions.trigger_event(name)
        event = parse_event({"event_name": name, "data": recorded["data"]})
        assert type(event) is EVENT_TYPES[name], name
