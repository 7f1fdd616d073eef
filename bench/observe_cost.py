"""CPU the ``Observe`` middleware adds per request (request id, metrics, request log).

    .venv/bin/python bench/observe_cost.py [--requests 200000]

``bench/inproc.py`` varies by more than the middleware costs on a busy box, so this
calls a minimal ASGI app (one response start, one body: what every route ends with)
directly and through ``Observe``, alternating rounds, and prints the difference per
request: with the request log off (the default) and on (JSON lines to /dev/null).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from cmpapi.server.observability.logs import JsonFormatter
from cmpapi.server.observability.middleware import Observe


class _Route:
    operation_id = "listUsers"
    name = "list_users"


_ROUTE = _Route()


async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = _ROUTE  # what the router does after matching
    await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


def scope(request_id: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", b"Bearer x" * 4)]
    if request_id is not None:
        headers.append((b"x-request-id", request_id))
    return {
        "type": "http",
        "method": "GET",
        "path": "/v3/userlist",
        "raw_path": b"/v3/userlist",
        "query_string": b"page_size=10",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
    }


async def cpu_per_call(app: Any, base: dict[str, Any], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        await app(dict(base), receive, send)
    return (time.process_time() - start) / n * 1e6


async def main(n: int) -> None:
    logger = logging.getLogger("cmpapi.access")
    handler = logging.FileHandler("/dev/null")
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    apps = {
        "bare": inner,
        "observe": Observe(inner, log_requests=False),
        "observe+log": Observe(inner, log_requests=True),
    }
    for label, rid in (("generated id", None), ("client's id", b"3f1c0a52-7d7e-4b7e-9a43")):
        base = scope(rid)
        totals = dict.fromkeys(apps, 0.0)
        rounds = 5
        for _ in range(rounds):  # alternate, so drift in the box's load hits all alike
            for name, app in apps.items():
                totals[name] += await cpu_per_call(app, base, n // rounds)
        bare = totals["bare"] / rounds
        for name in ("observe", "observe+log"):
            added = totals[name] / rounds - bare
            print(f"{label:<13} {name:<12} +{added:5.1f} µs CPU per request")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200_000)
    asyncio.run(main(ap.parse_args().requests))
