"""Where deliveries may go: the SSRF policy, which the delivery client enforces on connect.

A callback URL is checked twice:

- when it is saved (``check_callback_url``, plus ``check_resolves`` on its DNS answer):
  https only (plain http only for loopback hosts when the settings allow it), and no
  private, loopback, link-local, multicast, reserved, unspecified or metadata address;
- when a delivery connects: the delivery client (``client.py``) resolves the host itself,
  refuses the connection if *any* address is refused, and connects to the vetted IP
  address. TLS still uses the URL's host name (SNI, certificate check) and the Host
  header is unchanged, so a DNS answer that changes between the check and the connection
  (DNS rebinding) cannot point a delivery at an internal service.

Which addresses are allowed (``Targets.of``): loopback addresses with
``webhook_allow_http_loopback`` (on in demo mode, so a receiver on the developer's machine
works out of the box), every private kind with ``webhook_allow_private_targets``. Cloud
metadata addresses are refused even then. A refusal names the setting that would allow it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cmpapi.server.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "168.63.129.16",  # Azure wire server (a public address!)
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud metadata
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CHECKS = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
)
LOOPBACK_NAMES = ("localhost",)
ALLOW_PRIVATE_HINT = "set CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it"
ALLOW_LOOPBACK_HINT = (
    "set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true (on with `cmpapi serve --demo`) to allow "
    "loopback targets"
)
HTTP_HINT = (
    "set CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK=true (on with `cmpapi serve --demo`) to allow "
    "plain http to loopback hosts"
)


@dataclass(frozen=True, slots=True)
class Targets:
    """Which non-public addresses deliveries may go to (metadata addresses: never)."""

    private: bool = False  # every private, loopback, link-local, ... address
    loopback: bool = False  # loopback addresses only (127.0.0.0/8, ::1)

    @classmethod
    def of(cls, settings: Settings) -> Targets:
        """The targets ``settings`` allow: loopback ones with plain http to loopback (a
        loopback receiver allowed http but refused by address would make no sense)."""
        private = settings.webhook_allow_private_targets
        return cls(private=private, loopback=private or settings.webhook_http_loopback_allowed)


class Blocked(Exception):
    """The SSRF policy refused the connection (the delivery client raises its
    ``ConnectError`` from it)."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, allowed: Targets) -> str | None:
    """Why connecting to ``ip`` is refused (with the setting that would allow it), or
    None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := refusal(embedded, allowed)):
            return f"{ip} embeds {reason}"
        if ip.ipv4_mapped is not None:  # a connection to it goes to the IPv4 address
            return None
    if ip in METADATA:
        return f"{ip} is a cloud metadata address"
    if allowed.private or (allowed.loopback and ip.is_loopback):
        return None
    for attribute, label in _CHECKS:
        if getattr(ip, attribute):
            hint = ALLOW_LOOPBACK_HINT if attribute == "is_loopback" else ALLOW_PRIVATE_HINT
            return f"{ip} is {label} address; {hint}"
    if not ip.is_global:
        return f"{ip} is not a public address; {ALLOW_PRIVATE_HINT}"
    return None


def literal_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one (brackets and zone ids allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_callback_url(url: str, settings: Settings) -> str | None:
    """Why ``url`` cannot be a callback URL, or None. No DNS lookup (see check_resolves)."""
    if len(url) > 2048:
        return "Must be at most 2048 characters"
    # httpx's URL rules, as the client's; imported here, not by every server start (issue 15)
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "Not a valid URL"
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host:
        return "Must be an https URL"
    if parsed.userinfo:
        return "Must not contain credentials"
    ip = literal_ip(host)
    if parsed.scheme == "http":
        loopback = host.lower() in LOOPBACK_NAMES or (ip is not None and ip.is_loopback)
        if not loopback:
            return "Must be an https URL (plain http only to loopback hosts)"
        if not settings.webhook_http_loopback_allowed:
            return f"Must be an https URL (plain http only to loopback hosts); {HTTP_HINT}"
    if ip is not None and (reason := refusal(ip, Targets.of(settings))):
        return f"Refused target: {reason}"
    return None


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system resolver (getaddrinfo), without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for info in infos:
        ip = literal_ip(str(info[4][0]))
        if ip is not None:
            found[ip] = None
    return list(found)


async def vet_host(
    host: str, port: int, allowed: Targets, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """The addresses of ``host``, every one allowed; raises Blocked otherwise (OSError
    when it does not resolve)."""
    ip = literal_ip(host)
    if ip is not None:
        addresses = [ip]
    else:
        try:
            addresses = await resolver(host, port)
        except UnicodeError as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise OSError(f"cannot resolve {host}: no address")
    for address in addresses:
        if reason := refusal(address, allowed):
            raise Blocked(f"refused target {host}: {reason}")
    return addresses


async def check_resolves(
    url: str, settings: Settings, resolver: Resolver = system_resolver
) -> str | None:
    """Why ``url``'s host resolves to a refused address, or None (also when it does not
    resolve now: the check on connect decides then)."""
    import httpx

    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await vet_host(parsed.host, port, Targets.of(settings), resolver)
    except Blocked as exc:
        return f"Refused target: {str(exc).split(': ', 1)[-1]}"
    except OSError:
        return None
    return None
