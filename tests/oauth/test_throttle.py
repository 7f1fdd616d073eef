"""Sign-in throttling: wrong passwords on the login page and wrong client secrets at the
token endpoint, per account and per client address (docs/compat.md#sign-in-throttling).

Clients at other addresses are real: the live server's uvicorn trusts X-Forwarded-For
from 127.0.0.1 (a reverse proxy), as a deployment behind one does. A lockout is ended by
moving its row's ``blocked_until`` into the past, never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.oauth import throttle
from cmpapi.server.oauth.login import SESSION_COOKIE
from cmpapi.server.oauth.tables import SignInThrottle
from cmpapi.server.settings import Settings
from tests.oauth.flow import REVOKE, TOKEN, Browser, assert_oauth_error
from tests.oauth.test_no_framing import assert_not_framable
from tests.support.world import PASSWORD, World

FREE, ADDRESS_FREE, ACCOUNT_FREE = 3, 6, 5
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A first delay of a minute: a blocked attempt is refused however slow the machine is.
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        worker_embedded=False,
        signin_free_failures=FREE,
        signin_address_free_failures=ADDRESS_FREE,
        signin_account_free_failures=ACCOUNT_FREE,
        signin_first_delay=60,
        signin_max_delay=600,
    )


@pytest.fixture
def at(live_server: str, world: World) -> Iterator[Callable[[str], Browser]]:
    """A browser (own cookies) whose requests come from the given client address."""
    clients: list[httpx.Client] = []

    def browser(address: str) -> Browser:
        client = httpx.Client(base_url=live_server, headers={"X-Forwarded-For": address})
        clients.append(client)
        return Browser(client, world)

    yield browser
    for client in clients:
        client.close()


def end_lockouts(db: Session) -> None:
    """Time passes: every running delay is over (the failure counts stay)."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    db.execute(
        update(SignInThrottle)
        .where(SignInThrottle.blocked_until.is_not(None))
        .values(blocked_until=past)
    )
    db.commit()


def sign_in(browser: Browser, password: str, who: str = "admin@example.com") -> httpx.Response:
    browser.http.cookies.clear()  # a new sign-in each time, never an open session
    return browser.login(browser.params(), who=who, password=password)


def assert_refused_as_throttled(response: httpx.Response, browser: Browser) -> None:
    assert response.status_code == 429, response.text
    assert_not_framable(response)
    assert 1 <= int(response.headers["retry-after"]) <= 600
    assert "Too many failed sign-in attempts. Try again in" in response.text
    assert 'name="password"' in response.text
    assert "location" not in response.headers
    assert browser.http.cookies.get(SESSION_COOKIE) is None


def test_wrong_passwords_then_the_right_one_is_refused_until_the_lockout_ends(
    at: Callable[[str], Browser], db: Session
) -> None:
    browser = at("198.51.100.7")
    for _ in range(FREE):
        response = sign_in(browser, "wrong")
        assert response.status_code == 200
        assert "Wrong username, email or password." in response.text
        assert "Too many" not in response.text

    started = sign_in(browser, "wrong")
    assert started.status_code == 200
    assert "Wrong username, email or password. Too many failed sign-in attempts. " in started.text
    assert "Try again in 1 minute." in started.text

    refused = sign_in(browser, PASSWORD)
    assert_refused_as_throttled(refused, browser)

    end_lockouts(db)
    again = sign_in(browser, "wrong")
    assert "Try again in 2 minutes." in again.text  # the delay doubles
    assert_refused_as_throttled(sign_in(browser, PASSWORD), browser)

    end_lockouts(db)
    signed_in = sign_in(browser, PASSWORD)
    assert signed_in.status_code == 303, signed_in.text
    assert browser.http.cookies.get(SESSION_COOKIE)


def test_one_address_guessing_many_accounts_is_throttled_as_a_whole(
    at: Callable[[str], Browser],
) -> None:
    attacker = at("203.0.113.5")
    for n in range(ADDRESS_FREE + 1):
        response = sign_in(attacker, "wrong", who=f"nobody{n}@example.com")
        assert response.status_code == 200
    assert "Try again in 1 minute." in response.text

    # Even a right password from that address waits (the account never signed in there)...
    assert_refused_as_throttled(sign_in(attacker, PASSWORD), attacker)
    # ... while other addresses are not concerned.
    assert sign_in(at("198.51.100.20"), PASSWORD).status_code == 303


def test_a_successful_sign_in_resets_the_account_counter(at: Callable[[str], Browser]) -> None:
    browser = at("198.51.100.8")
    for _ in range(2):
        for _ in range(FREE):
            assert "Too many" not in sign_in(browser, "wrong").text
        # Without the reset, the second round's failures would have started a delay.
        response = sign_in(browser, PASSWORD)
        assert response.status_code == 303, response.text


def test_other_addresses_still_sign_in_to_an_attacked_account(
    at: Callable[[str], Browser],
) -> None:
    attacker, user = at("203.0.113.10"), at("198.51.100.30")
    for _ in range(FREE + 1):
        sign_in(attacker, "wrong")
    assert_refused_as_throttled(sign_in(attacker, PASSWORD), attacker)

    # One address counts for at most FREE failures on the account: it locks itself out only.
    assert sign_in(user, PASSWORD).status_code == 303  # the user's address is now known

    # Many addresses together do lock the account for addresses it never signed in from...
    for n in range(ACCOUNT_FREE // FREE + 1):
        bot = at(f"203.0.113.{100 + n}")
        for _ in range(FREE):
            sign_in(bot, "wrong")
    newcomer = at("192.0.2.44")
    assert_refused_as_throttled(sign_in(newcomer, PASSWORD), newcomer)

    # ... but not for an address it signed in from, and that success resets the account.
    assert sign_in(user, PASSWORD).status_code == 303
    assert sign_in(newcomer, PASSWORD).status_code == 303
    assert_refused_as_throttled(sign_in(attacker, PASSWORD), attacker)


def client_credentials(
    browser: Browser, secret: str, client_id: str | None = None
) -> httpx.Response:
    creds = {"client_id": client_id or browser.world.app.client_id, "client_secret": secret}
    return browser.http.post(TOKEN, data=CLIENT_CREDENTIALS | creds)


def assert_throttled_json(response: httpx.Response) -> None:
    assert_oauth_error(response, 429, "invalid_client")
    assert 1 <= int(response.headers["retry-after"]) <= 600
    assert "retry in" in response.json()["error_description"]
    assert "www-authenticate" not in response.headers


def test_wrong_client_secrets_then_the_right_one_is_refused_until_the_lockout_ends(
    at: Callable[[str], Browser], db: Session
) -> None:
    app_server, elsewhere = at("198.51.100.50"), at("198.51.100.51")
    secret = app_server.world.client_secret
    for _ in range(FREE + 1):
        assert_oauth_error(client_credentials(app_server, "wrong"), 401, "invalid_client")

    assert_throttled_json(client_credentials(app_server, secret))
    basic = app_server.http.post(
        TOKEN, data=CLIENT_CREDENTIALS, auth=(app_server.world.app.client_id, secret)
    )
    assert_throttled_json(basic)
    revoke = {"token": "x", "client_id": app_server.world.app.client_id, "client_secret": secret}
    assert_throttled_json(app_server.http.post(REVOKE, data=revoke))
    assert client_credentials(elsewhere, secret).status_code == 200

    end_lockouts(db)
    assert client_credentials(app_server, secret).status_code == 200
    # The success reset the client's counters: more failures start no delay at once.
    for _ in range(FREE - 1):
        assert_oauth_error(client_credentials(app_server, "wrong"), 401, "invalid_client")
    assert client_credentials(app_server, secret).status_code == 200


def test_one_address_guessing_many_clients_is_throttled_as_a_whole(
    at: Callable[[str], Browser],
) -> None:
    attacker, app_server = at("203.0.113.60"), at("198.51.100.61")
    for n in range(ADDRESS_FREE + 1):
        response = client_credentials(attacker, "wrong", client_id=f"guess-{n}")
        assert_oauth_error(response, 401, "invalid_client")

    assert_throttled_json(client_credentials(attacker, attacker.world.client_secret))
    assert client_credentials(app_server, app_server.world.client_secret).status_code == 200


def test_delays_double_up_to_the_lockout_and_counters_lapse(
    db: Session, settings: Settings
) -> None:
    config = settings.model_copy(
        update={"signin_address_free_failures": 100, "signin_max_delay": 300}
    )
    attempt = throttle.Attempt(throttle.CLIENT, "client-1", "203.0.113.9")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    waits = []
    for _ in range(FREE + 5):
        gate = throttle.check(db, config, attempt, now=now)
        assert gate.retry_after is None
        wait = throttle.failed(db, config, attempt, gate, now=now)
        waits.append(wait)
        if wait is not None:
            # Refused until the delay is over, and refusals do not count.
            for _ in range(3):
                later = now + timedelta(seconds=wait - 1)
                assert throttle.check(db, config, attempt, now=later).retry_after == 1
            now += timedelta(seconds=wait)
    assert waits == [None, None, None, 60, 120, 240, 300, 300]

    now += timedelta(seconds=config.signin_failure_window)
    gate = throttle.check(db, config, attempt, now=now)
    assert gate == throttle.Gate()
    assert throttle.failed(db, config, attempt, gate, now=now) is None


def test_switched_off_it_counts_nothing(db: Session, settings: Settings) -> None:
    config = settings.model_copy(update={"signin_throttle": False})
    attempt = throttle.Attempt(throttle.LOGIN, "name:x", "203.0.113.9")
    for _ in range(FREE + 3):
        gate = throttle.check(db, config, attempt)
        assert gate.retry_after is None
        assert throttle.failed(db, config, attempt, gate) is None
    assert db.scalar(select(func.count()).select_from(SignInThrottle)) == 0


def test_concurrent_failures_all_count(app, settings: Settings) -> None:
    make_session: sessionmaker[Session] = app.state.sessionmaker
    attempt = throttle.Attempt(throttle.CLIENT, "client-2", "203.0.113.77")
    config = settings.model_copy(update={"signin_free_failures": 100})
    errors: list[BaseException] = []

    def fail() -> None:
        try:
            with make_session() as session:
                throttle.failed(session, config, attempt, throttle.Gate())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with make_session() as session:
        pair = session.get(SignInThrottle, attempt.key(throttle.PAIR))
        assert pair is not None and pair.failures == 8


def test_addresses_are_grouped_as_one_client_holds_them() -> None:
    assert throttle.client_address("2001:db8::1") == throttle.client_address("2001:db8::ffff")
    assert throttle.client_address("2001:db8::1") != throttle.client_address("2001:db8:0:1::1")
    assert throttle.client_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.client_address("192.0.2.1") != throttle.client_address("192.0.2.2")
    assert throttle.client_address(None) == "unknown"
