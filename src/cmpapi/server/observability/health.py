"""``/livez``, ``/readyz``, ``/healthz`` and ``/metrics``: operations endpoints, not CMP
operations (left out of the OpenAPI document). docs/operations.md.

- ``/livez``: the process answers (for restarts by a supervisor); checks nothing else.
- ``/readyz``: the process can serve: the database answers, its schema is at the
  migrations' head, and the object store answers. 503 otherwise, naming what failed (for
  load balancers: take the process out of rotation, do not restart it).
- ``/healthz``: the older liveness check, kept for existing probes: same as ``/livez``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, text

from cmpapi.server.db import migrate
from cmpapi.server.http.responses import json_response
from cmpapi.server.observability import metrics
from cmpapi.server.storage.base import ObjectStore

STORE_TIMEOUT = 3.0  # seconds the object store has to answer a readiness probe
PROBE_KEY = "cmpapi-readyz-probe"  # never written: a HEAD that finds nothing is an answer
_OK = b'{"status":"ok"}'


def install(app: FastAPI) -> None:
    """Add the operations endpoints to ``app``."""
    # The names are the operation labels of their requests in the metrics and the log.
    for path, endpoint in (
        ("/livez", livez),
        ("/healthz", livez),
        ("/readyz", readyz),
        ("/metrics", metrics_endpoint),
    ):
        name = path.lstrip("/")
        app.add_api_route(path, endpoint, methods=["GET"], name=name, include_in_schema=False)


async def livez() -> Response:
    """200 while the process serves requests."""
    return Response(_OK, media_type="application/json")


async def readyz(request: Request) -> Response:
    """200 when the database, its schema and the object store are ready, else 503 with
    each check's result and the first failure as ``reason``."""
    state = request.app.state
    checks: dict[str, str] = {}
    checks.update(await anyio.to_thread.run_sync(check_database, state.engine))
    checks["storage"] = await check_store(state.store)
    failed = [f"{name}: {result}" for name, result in checks.items() if result != "ok"]
    if failed:
        body: dict[str, Any] = {"status": "unavailable", "reason": failed[0], "checks": checks}
        return json_response(body, 503, {"Cache-Control": "no-store"})
    return json_response({"status": "ok", "checks": checks}, 200, {"Cache-Control": "no-store"})


def check_database(engine: Engine) -> dict[str, str]:
    """``database`` and ``migrations``: "ok" or what is wrong."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = migrate.current(conn)
    except Exception as exc:
        return {"database": f"unreachable ({_describe(exc)})", "migrations": "unknown"}
    heads = migrate.heads()
    if current != heads:
        found = ", ".join(sorted(current)) or "none"
        head = ", ".join(sorted(heads))
        return {"database": "ok", "migrations": f"not at head (at {found}, head {head})"}
    return {"database": "ok", "migrations": "ok"}


async def check_store(store: ObjectStore) -> str:
    """ "ok" when the object store answers a metadata request in time."""
    try:
        await asyncio.wait_for(store.head(PROBE_KEY), STORE_TIMEOUT)
    except TimeoutError:
        return f"unreachable (no answer in {STORE_TIMEOUT:g} s)"
    except Exception as exc:
        return f"unreachable ({_describe(exc)})"
    return "ok"


def _describe(exc: BaseException) -> str:
    # The first line only: driver messages can run to many lines, and never carry secrets
    # of ours (URLs in them are rendered without passwords by SQLAlchemy).
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


def metrics_endpoint(request: Request) -> Response:
    """The Prometheus exposition (runs in a thread: it reads the queues)."""
    body = metrics.render(request.app.state.metric_collectors)
    return Response(body, media_type=metrics.CONTENT_TYPE)
