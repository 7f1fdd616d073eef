"""The SSRF policy: URL rules when a webhook is saved, DNS answers, and the check on the
address a delivery actually connects to (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cmpapi.server.errors import Invalid
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import service
from cmpapi.server.webhooks.client import (
    ConnectError,
    DeliveryClient,
    Endpoint,
    Response,
    ssl_context,
)
from cmpapi.server.webhooks.ssrf import (
    IPAddress,
    Resolver,
    Targets,
    check_callback_url,
    check_resolves,
    refusal,
)
from tests.webhooks.conftest import FAST, WorkerThread, add_webhook, attempts, deliveries, record
from tests.webhooks.receiver import Receiver, wait_until

STRICT = Settings.model_construct()
LOOPBACK_HTTP = Settings.model_construct(webhook_allow_http_loopback=True)
PRIVATE_ONLY = Settings.model_construct(webhook_allow_private_targets=True)
PRIVATE_OK = Settings.model_construct(
    webhook_allow_private_targets=True, webhook_allow_http_loopback=True
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.10.10",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::1",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    reason = refusal(ipaddress.ip_address(address), Targets())
    assert reason is not None and "set CMPAPI_WEBHOOK_ALLOW_" in reason  # how to allow it
    assert refusal(ipaddress.ip_address("93.184.216.34"), Targets()) is None
    assert refusal(ipaddress.ip_address("2606:2800:220:1::1"), Targets()) is None
    assert refusal(ipaddress.ip_address("::ffff:93.184.216.34"), Targets()) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_targets_alone_can_be_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), Targets(loopback=True)) is None
    for other in ("10.0.0.1", "192.168.1.1", "fe80::1", "0.0.0.0", "169.254.169.254"):  # noqa: S104
        assert refusal(ipaddress.ip_address(other), Targets(loopback=True)) is not None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "168.63.129.16",
        "100.100.100.200",
    ],
)
def test_metadata_addresses_are_refused_even_when_private_targets_are_allowed(address: str) -> None:
    reason = refusal(ipaddress.ip_address(address), Targets(private=True, loopback=True))
    assert reason is not None and "metadata" in reason


@pytest.mark.parametrize(
    ("url", "settings", "error"),
    [
        ("https://hooks.example.com/cmp?x=1", STRICT, None),
        ("http://hooks.example.com/cmp", STRICT, "https"),
        ("http://127.0.0.1:8000/cmp", STRICT, "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true"),
        ("https://127.0.0.1:8000/cmp", STRICT, "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true"),
        ("https://127.0.0.1:8000/cmp", PRIVATE_ONLY, None),
        ("http://127.0.0.1:8000/cmp", PRIVATE_ONLY, "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true"),
        ("http://127.0.0.1:8000/cmp", LOOPBACK_HTTP, None),
        ("http://[::1]:8000/cmp", LOOPBACK_HTTP, None),
        ("http://127.0.0.1:8000/cmp", PRIVATE_OK, None),
        ("http://localhost:8000/cmp", PRIVATE_OK, None),
        ("http://hooks.example.com/cmp", PRIVATE_OK, "https"),  # plain http only for loopback
        ("https://10.0.0.8/cmp", STRICT, "private address; set CMPAPI_WEBHOOK_ALLOW_PRIVATE_T"),
        ("https://10.0.0.8/cmp", LOOPBACK_HTTP, "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true"),
        ("https://[::ffff:127.0.0.1]/cmp", STRICT, "loopback"),
        ("https://169.254.169.254/latest/meta-data", PRIVATE_OK, "metadata"),
        ("https://user:pw@hooks.example.com/", STRICT, "credentials"),
        ("ftp://hooks.example.com/", STRICT, "https"),
        ("not a url", STRICT, "https"),
        ("https://" + "a" * 2050 + ".com/", STRICT, "2048"),
    ],
)
def test_callback_url_rules(url: str, settings: Settings, error: str | None) -> None:
    reason = check_callback_url(url, settings)
    assert (reason is None) == (error is None), reason
    if error is not None:
        assert reason is not None and error in reason


def test_names_resolving_to_private_addresses_are_refused() -> None:
    reason = asyncio.run(check_resolves("https://localhost/hook", STRICT))
    assert reason is not None and "loopback" in reason
    assert asyncio.run(check_resolves("https://localhost/hook", PRIVATE_OK)) is None
    assert asyncio.run(check_resolves("https://localhost/hook", LOOPBACK_HTTP)) is None
    # A name that does not resolve now is left to the check on connect.
    assert asyncio.run(check_resolves("https://nothing.invalid/hook", STRICT)) is None


def test_the_address_connected_to_is_checked_again(receiver: Receiver) -> None:
    """DNS rebinding: the name resolved to a public address when the webhook was saved and
    resolves to 127.0.0.1 when the delivery connects. The connection is refused."""

    async def public(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34")]

    async def rebound(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    url = f"http://rebind.example:{receiver.port}/hook"  # plain http: the receiver's
    assert asyncio.run(check_resolves(url, STRICT, public)) is None

    async def deliver(resolver: Resolver, allowed: Targets = Targets()) -> Response:
        async with DeliveryClient(allowed, ssl_context(), resolver) as client:
            return await client.post(Endpoint.parse(url), {}, b"{}")

    with pytest.raises(ConnectError) as caught:
        asyncio.run(deliver(rebound))
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert receiver.requests() == []

    # Demo mode allows loopback targets only: a name rebound to a private address is
    # still refused on connect.
    async def private(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("10.0.0.7")]

    with pytest.raises(ConnectError) as caught:
        asyncio.run(deliver(private, Targets.of(Settings.model_construct(demo=True))))
    assert "10.0.0.7 is a private address" in str(caught.value)
    # With private (or loopback) targets allowed the same client connects to the vetted
    # address, keeping the URL's host name in the Host header.
    assert asyncio.run(deliver(rebound, Targets(private=True))).status_code == 200
    [request] = receiver.requests()
    assert request.headers["host"] == f"rebind.example:{receiver.port}"


def test_deliveries_to_refused_targets_fail_without_a_request(
    database_url: str,
    tmp_path: object,
    engine: Engine,
    session: Session,
    org: str,
    receiver: Receiver,
) -> None:
    # Saved while loopback targets were allowed (https and a name, so only DNS tells),
    # then the settings were turned off: every attempt is blocked on connect.
    add_webhook(session, org, receiver.url(host="localhost").replace("http:", "https:"))
    strict = Settings(
        data_dir=tmp_path,
        database_url=database_url,  # type: ignore[arg-type]
        **FAST | {"webhook_allow_private_targets": False, "webhook_allow_http_loopback": False},
    )
    record(session, org)
    with WorkerThread(strict):
        wait_until(lambda: [d.status for d in deliveries(engine)] == ["failed"])
    assert receiver.requests() == []
    errors = {a.error for a in attempts(engine)}
    assert len(errors) == 1
    [error] = errors
    assert error is not None and error.startswith("Blocked: refused target localhost:")
    assert "loopback address; set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true" in error


def test_saving_a_refused_url_is_a_validation_error(session: Session, org: str) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_webhook(
            session, org, name="x", callback_url="http://10.0.0.1/", event_names=["asset_added"]
        )
    assert caught.value.errors == {
        "callback_url": "Must be an https URL (plain http only to loopback hosts)"
    }
    with pytest.raises(Invalid) as caught:
        service.create_webhook(
            session,
            org,
            name="x",
            callback_url="https://[fd00:ec2::254]/",
            event_names=["asset_added"],
            settings=PRIVATE_OK,
        )
    assert "metadata" in (caught.value.errors or {})["callback_url"]


def test_demo_mode_allows_loopback_targets_only() -> None:
    demo = Settings.model_construct(demo=True)
    assert demo.webhook_http_loopback_allowed
    assert Targets.of(demo) == Targets(loopback=True)
    assert not Settings.model_construct().webhook_http_loopback_allowed
    for url in ("http://127.0.0.1:9000/hook", "http://localhost:9000/", "https://[::1]/"):
        assert check_callback_url(url, demo) is None
    assert asyncio.run(check_resolves("http://localhost:9000/hook", demo)) is None
    refused = check_callback_url("https://192.168.1.1/hook", demo)
    assert refused is not None and "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in refused
    refused = check_callback_url("http://192.168.1.1/hook", demo)
    assert refused == "Must be an https URL (plain http only to loopback hosts)"
    off = Settings.model_construct(demo=True, webhook_allow_http_loopback=False)
    refused = check_callback_url("http://localhost:9000/hook", off)
    assert refused is not None and "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true" in refused
