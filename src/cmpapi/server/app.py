"""The app factory: Settings -> engine -> routers -> error rendering."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response

from cmpapi import __version__
from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.db.runner import DbRunner
from cmpapi.server.ext.apps import router as ext_apps_router
from cmpapi.server.http import errors
from cmpapi.server.http.limits import RequestLimits
from cmpapi.server.http.ratelimit import make_limiter
from cmpapi.server.jobs.worker import embedded_worker
from cmpapi.server.oauth.routes import router as oauth_router
from cmpapi.server.resources.fields.routes import router as fields_router
from cmpapi.server.resources.labels.routes import router as labels_router
from cmpapi.server.resources.library.asset_routes import router as assets_router
from cmpapi.server.resources.library.folder_routes import router as folders_router
from cmpapi.server.resources.library.relation_routes import router as relations_router
from cmpapi.server.resources.library.rendition_routes import router as renditions_router
from cmpapi.server.resources.library.type_routes import router as asset_types_router
from cmpapi.server.resources.milestones.routes import router as milestones_router
from cmpapi.server.resources.settings.routes import router as settings_router
from cmpapi.server.resources.tasks.asset_routes import router as task_assets_router
from cmpapi.server.resources.tasks.comment_routes import router as task_comments_router
from cmpapi.server.resources.tasks.metadata_routes import router as task_metadata_router
from cmpapi.server.resources.tasks.routes import router as tasks_router
from cmpapi.server.resources.teams.routes import router as teams_router
from cmpapi.server.resources.uploader.routes import router as uploader_router
from cmpapi.server.resources.users.routes import router as users_router
from cmpapi.server.resources.workflows.routes import router as workflows_router
from cmpapi.server.settings import Settings
from cmpapi.server.storage import make_store
from cmpapi.server.storage.routes import router as storage_router
from cmpapi.server.webhooks.routes import router as webhooks_router

V3_ROUTERS: list[APIRouter] = [
    users_router,
    teams_router,
    folders_router,
    assets_router,
    asset_types_router,
    relations_router,
    renditions_router,
    fields_router,
    labels_router,
    uploader_router,
    workflows_router,
    tasks_router,
    settings_router,
    task_assets_router,
    task_comments_router,
    task_metadata_router,
    milestones_router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. Migrations are applied by the caller (``cmpapi serve``, tests)."""
    settings = settings or Settings()
    engine = make_engine(settings)
    app = FastAPI(
        title="cmpapi",
        version=__version__,
        summary="Optimizely CMP Open API v3, self-hosted",
        openapi_url="/v3/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Runs a job worker beside the API unless settings.worker_embedded is off.
        lifespan=lambda _app: embedded_worker(settings),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.db_runner = DbRunner(settings.resolved_db_inline, settings.db_pool_size)
    app.state.store = make_store(settings)
    app.state.rate_limiter = make_limiter(settings.rate_limit)
    errors.install(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    app.include_router(oauth_router)
    app.include_router(ext_apps_router)
    app.include_router(webhooks_router)
    app.include_router(storage_router)  # local backend's /uploads and /files
    for router in V3_ROUTERS:
        app.include_router(router, prefix="/v3")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app
