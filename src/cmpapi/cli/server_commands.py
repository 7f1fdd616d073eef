"""Commands that run or administer a server on this machine: serve, db, labels, demo
(users, teams and apps: identity_commands, app_commands). They use the server package
directly (remote commands use the SDK).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    DatabaseUrl,
    DataDir,
    Org,
    console,
    local_settings,
    open_db,
    resolve_org,
)
from cmpapi.cli.startup import startup_objects


def serve(
    demo: Annotated[bool, typer.Option(help="Seed demo data and print its credentials")] = False,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080)")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request (secrets in query strings redacted; default: "
            "CMPAPI_ACCESS_LOG, on with CMPAPI_LOG_FORMAT=json)"
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API processes sharing the port (default 1: CMPAPI_WORKERS); above 1 the "
            "job worker runs in a process of its own",
        ),
    ] = None,
    embedded_worker: Annotated[
        bool | None,
        typer.Option(
            "--embedded-worker/--no-embedded-worker",
            help="Run the job worker with the server (default: CMPAPI_WORKER_EMBEDDED); "
            "turn it off when `cmpapi worker` processes run separately",
        ),
    ] = None,
) -> None:
    """Apply migrations and serve the API, OAuth server and health check."""
    settings = local_settings(
        demo=demo or None,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        workers=workers,
        worker_embedded=embedded_worker,
        access_log=access_log or None,
    )
    with startup_objects():
        app = _prepared_app(settings)
    _run(app, settings)


def _prepared_app(settings: Any) -> Any:
    """The app, its database migrated and, in demo mode, seeded (and the banner printed)."""
    from cmpapi.server.app import create_app
    from cmpapi.server.db.maintenance import schedule_analyze
    from cmpapi.server.db.migrate import upgrade

    app = create_app(settings)
    upgrade(app.state.engine)  # no Alembic at all when the database is at head
    schedule_analyze(app.state.engine)
    if settings.demo:
        from cmpapi.server import demo as demo_data

        with app.state.sessionmaker() as session:
            creds = demo_data.seed(session, app.state.store)
        _print_demo(creds, settings)
        if settings.webhook_http_loopback_allowed:
            print(DEMO_WEBHOOKS, flush=True)
    return app


def _run(app: Any, settings: Any) -> None:
    import uvicorn

    from cmpapi.cli import processes
    from cmpapi.cli.access_log import log_config

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # The request log is cmpapi's own (Observe middleware), with request ids.
        "access_log": False,
        "log_config": log_config(settings.log_format),
        "log_level": "info",
        "server_header": False,
        "loop": EVENT_LOOP,
        # No websockets are served: uvicorn then imports no websockets library (issue 15).
        "ws": "none",
    }
    if settings.workers > 1:
        # The children build their own apps; this one was for the migrations and the seed.
        app.state.engine.dispose()
        processes.run(settings, options)
        return
    uvicorn.run(app, **options)


# asyncio's own loop, not uvloop: at saturation uvloop serves new requests before it
# finishes those in flight, and a request spans several loop turns here. Measured with wrk
# -c32 on the 2-core box (bench/README.md): p99 88 ms instead of 490-610 ms on listTasks,
# 28-43 ms instead of 104-243 ms on listUsers, at the same or better throughput.
EVENT_LOOP = "asyncio"


DEMO_WEBHOOKS = (
    "# webhooks: loopback callback URLs are allowed in demo mode, plain http included "
    "(e.g. http://127.0.0.1:9000/hook; CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK)"
)


def _print_demo(creds: Any, settings: Any) -> None:
    """The demo banner: credentials, a curl pair that works as printed, a ready-to-open
    authorization URL with its PKCE verifier and the code exchange, the "Jira" app's
    credentials, and where the data lives. ``name: value`` lines, ``#`` comments and
    commands (the first ``curl`` line is the userlist call; tests read it so)."""
    base = (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    token_url = f"{base}/o/oauth2/v1/token"
    lines = [
        f"client_id: {creds.client_id}",
        f"client_secret: {creds.client_secret}",
        f"redirect_uri: {creds.redirect_uri}",
        f"user_email: {creds.user_email}",
        f"user_password: {creds.user_password}",
        f"authorization_url: {base}/o/oauth2/v1/auth",
        f"token_url: {token_url}",
        f"api_base_url: {base}/v3",
        "# get a client_credentials token, then list users:",
        f"TOKEN=$(curl -s {token_url} -d grant_type=client_credentials "
        f"-d client_id={creds.client_id} -d client_secret={creds.client_secret} "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'curl -s {base}/v3/userlist -H "Authorization: Bearer $TOKEN"',
        *_code_flow_lines(creds, base, token_url),
        '# the "Jira" app: the external system of the "Legal review with Jira" workflow; its '
        "client_credentials tokens complete the deferred legal approval (docs/tasks.md)",
        f"jira_client_id: {creds.jira_client_id}",
        f"jira_client_secret: {creds.jira_client_secret}",
        *_data_lines(settings),
    ]
    print("\n".join(lines), flush=True)


def _code_flow_lines(creds: Any, base: str, token_url: str) -> list[str]:
    """An authorization request to open, its verifier, and the code exchange's curl."""
    return [
        "# sign in as a user (authorization code + PKCE S256): open authorize_url in a browser,",
        "# sign in as user_email, allow; the browser then goes to redirect_uri?code=...&state=...",
        "# (nothing answers there: copy the code from the address bar) and, within a minute:",
        f"authorize_url: {creds.authorize_url(base)}",
        f"state: {creds.state}",
        f"code_verifier: {creds.code_verifier}",
        "CODE=paste-the-code-here",
        f'curl -s {token_url} -d grant_type=authorization_code -d "code=$CODE" '
        f"--data-urlencode redirect_uri={creds.redirect_uri} -d client_id={creds.client_id} "
        f"-d client_secret={creds.client_secret} -d code_verifier={creds.code_verifier}",
    ]


def _data_lines(settings: Any) -> list[str]:
    """Where the demo's data lives (the database URL without its password)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    if settings.storage_backend == "s3":
        endpoint = settings.s3_endpoint_url or "AWS"
        storage = f"s3://{settings.s3_bucket} ({endpoint})"
    else:
        storage = str(settings.resolved_storage_dir.resolve())
    local = url.startswith("sqlite") and settings.storage_backend == "local"
    backups = "`cmpapi backup DEST` copies it while the server runs" if local else "backups"
    return [
        f"# the data ({backups}: docs/deploying.md#backups):",
        f"data_dir: {settings.data_dir.resolve()}",
        f"database_url: {url}",
        f"storage: {storage}",
    ]


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply all migrations to the configured database (creating a SQLite one)."""
    with open_db(data_dir, database_url):
        console.print("database is up to date")


labels_app = typer.Typer(
    help="Label groups (the API has no operation to create them).", no_args_is_help=True
)


@labels_app.command("create-group")
def labels_create_group(
    name: Annotated[str, typer.Option(help="Label group name (unique in the organization)")],
    value: Annotated[list[str], typer.Option(help="Label value name (repeatable, in order)")],
    single_value: Annotated[
        bool, typer.Option(help="Objects may carry only one value of this group")
    ] = False,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a label group with its values; prints the group's and each value's id."""
    from cmpapi.server.resources.labels import service

    with open_db(data_dir, database_url) as session:
        group = service.create_label_group(
            session, resolve_org(session, org), name, value, has_single_value=single_value
        )
        session.commit()
        print("\n".join([f"id: {group.id}", *(f"{v.name}: {v.id}" for v in group.values)]))


demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)


@demo_app.command("seed")
def demo_seed(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Seed the deterministic demo organization (idempotent) and print its credentials."""
    from cmpapi.server import demo as demo_data
    from cmpapi.server.storage import make_store

    settings = local_settings(data_dir=data_dir, database_url=database_url)
    with open_db(data_dir, database_url) as session:
        creds = demo_data.seed(session, make_store(settings))
    _print_demo(creds, settings)


def register(app: typer.Typer) -> None:
    """Attach serve, db, labels and demo to the root CLI."""
    app.command()(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(labels_app, name="labels")
    app.add_typer(demo_app, name="demo")
