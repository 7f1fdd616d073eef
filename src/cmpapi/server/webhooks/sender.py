"""One delivery attempt over HTTP: the POST, and what came back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from cmpapi import standard_webhooks as signing
from cmpapi.server.jobs.tables import now
from cmpapi.server.webhooks.client import DeliveryClient
from cmpapi.server.webhooks.queue import ACKNOWLEDGED, Claimed, Outcome, Target
from cmpapi.server.webhooks.ssrf import Blocked


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe(exc: BaseException) -> str:
    """An error for the attempt log: the SSRF refusal, or ``Type: message``."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, Blocked):
            return f"Blocked: {cause}"
        cause = cause.__cause__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status_error(code: int, location: str | None) -> str | None:
    if code in ACKNOWLEDGED:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed (Location: {location or '-'})"
    return f"HTTP {code}: only 200 and 202 acknowledge a delivery"


async def send(
    client: DeliveryClient, target: Target, delivery: Claimed, timeout: float
) -> Outcome:
    """POST the delivery's body to its webhook once; never raises for HTTP trouble."""
    started, clock = now(), time.perf_counter()
    code: int | None = None
    excerpt = error = location = retry_after = None
    try:
        if target.endpoint is None:
            raise ValueError(f"not a URL: {target.url!r}")
        headers = signing.headers(
            target.key, delivery.id, int(time.time()), delivery.body, target.secret
        )
        async with asyncio.timeout(timeout):
            response = await client.post(target.endpoint, headers, delivery.body)
        code = response.status_code
        location = response.headers.get("location")
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        excerpt = response.body.decode("utf-8", "replace") if response.body else None
    except TimeoutError:
        error = f"Timed out after {timeout:g} s"
    except Exception as exc:  # a bug must cost an attempt, not the delivery engine
        error = describe(exc)
    latency = round((time.perf_counter() - clock) * 1000)
    if code is not None and error is None:
        error = _status_error(code, location)
    return Outcome(started, latency, code, excerpt, error, retry_after)
