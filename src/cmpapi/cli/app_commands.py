"""``cmpapi apps``: OAuth apps on this machine's database: register, list, show, turn off
and on, rotate the client secret, replace redirect URIs, delete (docs/cli.md#apps)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    open_db,
    print_object,
    print_rows,
    resolve_org,
)

apps_app = typer.Typer(
    help="OAuth apps: create, list, show, deactivate, rotate-secret, set-redirect-uris, delete.",
    no_args_is_help=True,
)
AppRef = Annotated[str, typer.Argument(help="App id or client id")]


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Option(help="App name shown on the consent page")],
    redirect_uri: Annotated[list[str], typer.Option(help="Callback URL (repeatable)")],
    token_user: Annotated[
        str | None, typer.Option(help="Email of the user client_credentials tokens act as")
    ] = None,
    expose_email: Annotated[bool, typer.Option(help="Show user emails to this app")] = False,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register an OAuth app; prints its client_id and client_secret (shown once)."""
    from cmpapi.server.errors import NotFound
    from cmpapi.server.identity.service import find_user_by_login
    from cmpapi.server.oauth import store

    with open_db(data_dir, database_url) as session:
        user = find_user_by_login(session, token_user) if token_user else None
        if token_user and user is None:
            raise NotFound(f"No user {token_user}")
        app, secret = store.create_app(
            session,
            resolve_org(session, org),
            name=name,
            redirect_uris=redirect_uri,
            token_user_id=user.id if user else None,
            expose_email=expose_email,
        )
        session.commit()
        print(f"client_id: {app.client_id}\nclient_secret: {secret}")


APP_COLUMNS = [
    Column("client_id", "client id", ident=True),
    Column("name", "name"),
    Column("is_active", "active"),
    Column("token_user_email", "token user"),
    Column("redirect_uris", "redirect uris"),
]


def _apps(session: Any, apps: Any) -> list[dict[str, Any]]:
    """Apps as listed: the keys of ``GET /ext/v1/apps`` with the organization and the
    token user's email."""
    from sqlalchemy import select

    from cmpapi.server.identity.tables import User

    user_ids = {a.token_user_id for a in apps if a.token_user_id}
    found = session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    emails = {str(id_): str(email) for id_, email in found}
    return [
        {
            "id": a.id,
            "org_id": a.org_id,
            "name": a.name,
            "client_id": a.client_id,
            "redirect_uris": list(a.redirect_uris),
            "token_user_id": a.token_user_id,
            "token_user_email": emails.get(a.token_user_id),
            "expose_email": a.expose_email,
            "is_active": a.is_active,
            "created_at": a.created_at,
        }
        for a in apps
    ]


@apps_app.command("list")
def apps_list(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the organization's apps, oldest first (deactivated ones too; secrets never)."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url, write=False) as session:
        apps = app_admin.list_apps(session, resolve_org(session, org))
        print_rows(_apps(session, apps), APP_COLUMNS, output)


@apps_app.command("show")
def apps_show(
    app: AppRef,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show one app (never its secret)."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url, write=False) as session:
        print_object(_apps(session, [app_admin.find_app(session, app)])[0], output)


@apps_app.command("deactivate")
def apps_deactivate(
    app: AppRef, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Turn an app off: its client credentials stop working and its tokens are revoked
    (API processes notice within CMPAPI_TOKEN_CACHE_SECONDS)."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url) as session:
        row = app_admin.find_app(session, app)
        revoked = app_admin.deactivate_app(session, row)
        session.commit()
        print(f"deactivated: {row.client_id} ({revoked} tokens revoked)")


@apps_app.command("activate")
def apps_activate(app: AppRef, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Turn a deactivated app on again (tokens revoked earlier stay revoked)."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url) as session:
        row = app_admin.find_app(session, app)
        app_admin.activate_app(session, row)
        session.commit()
        print(f"activated: {row.client_id}")


@apps_app.command("rotate-secret")
def apps_rotate_secret(
    app: AppRef,
    revoke_tokens: Annotated[
        bool, typer.Option("--revoke-tokens", help="Also revoke the tokens issued so far")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give an app a new client secret, printed once; the old one stops working at once.
    Tokens already issued keep working unless --revoke-tokens."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url) as session:
        row = app_admin.find_app(session, app)
        secret = app_admin.rotate_secret(session, row, revoke=revoke_tokens)
        session.commit()
        print(f"client_id: {row.client_id}\nclient_secret: {secret}")


@apps_app.command("set-redirect-uris")
def apps_set_redirect_uris(
    app: AppRef,
    uris: Annotated[list[str], typer.Argument(help="Every callback URL the app may use")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Replace an app's redirect URIs (absolute http(s) URLs, compared exactly)."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url) as session:
        row = app_admin.find_app(session, app)
        app_admin.set_redirect_uris(session, row, uris)
        session.commit()
        print(f"redirect_uris: {', '.join(row.redirect_uris)}")


@apps_app.command("delete")
def apps_delete(app: AppRef, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete a deactivated app with its grants and tokens; refused, with the reason, for
    an active app or one other rows refer to."""
    from cmpapi.server.oauth import app_admin

    with open_db(data_dir, database_url) as session:
        row = app_admin.find_app(session, app)
        client_id = row.client_id
        app_admin.delete_app(session, row)
        session.commit()
        print(f"deleted: {client_id}")


def register(app: typer.Typer) -> None:
    """Attach ``apps`` to the root CLI."""
    app.add_typer(apps_app, name="apps")
