"""The app factory: Settings -> engine -> the route table -> error rendering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from cmpapi import __version__
from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.db.runner import DbRunner
from cmpapi.server.db.session import UnitSessions
from cmpapi.server.http import dispatch, errors, principals
from cmpapi.server.http.deferred import FieldsBuiltRoute
from cmpapi.server.http.limits import RequestLimits
from cmpapi.server.http.ratelimit import make_limiter
from cmpapi.server.identity import passwords
from cmpapi.server.jobs.worker import embedded_worker
from cmpapi.server.observability import health, metrics
from cmpapi.server.observability.middleware import ObservedFastAPI
from cmpapi.server.routes import ROUTE_TABLE
from cmpapi.server.settings import Settings
from cmpapi.server.storage import make_store
from cmpapi.server.webhooks.stream import EventHub


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The embedded job worker (unless ``settings.worker_embedded`` is off), and the end
    of the event streams and their poller when the app stops."""
    hub: EventHub = app.state.event_hub
    hub.closed = False  # a TestClient may start an app again
    async with embedded_worker(settings):
        try:
            yield
        finally:
            await hub.close()
            app.state.unit_sessions.close()


# FastAPI asks OpenTelemetry for its providers on every request unless told not to.
OTEL_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. Migrations are applied by the caller (``cmpapi serve``, tests)."""
    settings = settings or Settings()
    passwords.configure(
        memory_kib=settings.password_hash_memory_kib, time_cost=settings.password_hash_time_cost
    )
    principals.CACHE.ttl = settings.token_cache_seconds
    engine = make_engine(settings)
    # Request ids, request metrics and the request log around everything (observability/).
    app = ObservedFastAPI(
        title="cmpapi",
        version=__version__,
        summary="Optimizely CMP Open API v3, self-hosted",
        openapi_url="/v3/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lambda app: lifespan(app, settings),
        telemetry=None if settings.otel else OTEL_OFF,
    )
    app.log_requests = settings.request_log
    # Routes added to the app itself (the health checks, tests' probes) build their request
    # validators when made, as the operations do (the wire models are built on first use).
    app.router.route_class = FieldsBuiltRoute
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.unit_sessions = UnitSessions(engine, app.state.sessionmaker)
    app.state.db_runner = DbRunner(
        settings.resolved_db_inline,
        settings.db_pool_size,
        read_budget_s=settings.resolved_db_read_budget_s,
    )
    app.state.store = make_store(settings)
    app.state.event_hub = EventHub(engine, app.state.db_runner, settings)
    metrics.watch_pool(engine, "api", settings.db_pool_size)
    app.state.metric_collectors = [metrics.QueueCollector(engine)]
    app.state.rate_limiter = make_limiter(settings.rate_limit)
    errors.install(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    for prefix, router in ROUTE_TABLE:
        app.include_router(router, prefix=prefix)
    health.install(app)  # /livez, /readyz, /healthz, /metrics
    dispatch.install(app, ROUTE_TABLE)  # last: it reads the finished routing table

    return app
