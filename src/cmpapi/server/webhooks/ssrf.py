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

Cloud metadata addresses are refused even when private targets are allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

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


def refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why connecting to ``ip`` is refused, or None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := refusal(embedded, allow_private)):
            return f"{ip} embeds {reason}"
    if ip in METADATA:
        return f"{ip} is a cloud metadata address"
    if allow_private:
        return None
    for attribute, label in _CHECKS:
        if getattr(ip, attribute):
            return f"{ip} is {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
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
        if not (settings.webhook_http_loopback_allowed and loopback):
            return "Must be an https URL (plain http only for loopback hosts in demo mode)"
    if ip is not None and (reason := refusal(ip, settings.webhook_allow_private_targets)):
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
    host: str, port: int, allow_private: bool, resolver: Resolver = system_resolver
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
        if reason := refusal(address, allow_private):
            raise Blocked(f"refused target {host}: {reason}")
    return addresses


async def check_resolves(
    url: str, settings: Settings, resolver: Resolver = system_resolver
) -> str | None:
    """Why ``url``'s host resolves to a refused address, or None (also when it does not
    resolve now: the check on connect decides then)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await vet_host(parsed.host, port, settings.webhook_allow_private_targets, resolver)
    except Blocked as exc:
        return f"Refused target: {str(exc).split(': ', 1)[-1]}"
    except OSError:
        return None
    return None
