"""``cmpapi init`` (the first organization and its admin), ``cmpapi users`` and
``cmpapi teams``, on this machine's database (docs/cli.md). Listings and ``show`` only
read: they never create or migrate a database."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    die,
    local_settings,
    open_db,
    print_object,
    print_rows,
    resolve_org,
)

users_app = typer.Typer(
    help="Users: create, list, show, set-role, deactivate, activate, delete.", no_args_is_help=True
)
teams_app = typer.Typer(help="Teams: create, list, show, delete.", no_args_is_help=True)
UserRef = Annotated[str, typer.Argument(help="User id, email or username")]
TeamId = Annotated[str, typer.Argument(help="Team id")]


def _configure_hashing(settings: Any) -> None:
    """Hash new passwords at the deployment's cost (``CMPAPI_PASSWORD_HASH_*``)."""
    from cmpapi.server.identity import passwords

    passwords.configure(
        memory_kib=settings.password_hash_memory_kib, time_cost=settings.password_hash_time_cost
    )


# -- init -----------------------------------------------------------------------------


OrgName = Annotated[str | None, typer.Option(help="Organization name (asked if absent)")]
AdminEmail = Annotated[
    str | None, typer.Option(help="The admin's email, their login (asked if absent)")
]
AdminName = Annotated[str | None, typer.Option(help="The admin's full name (asked if absent)")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the admin's password from stdin's first line")
]
GeneratePassword = Annotated[
    bool, typer.Option("--generate-password", help="Generate the admin's password, print it once")
]
AppName = Annotated[
    str | None,
    typer.Option("--app", help="Also register an OAuth app of this name (acting as the admin)"),
]
RedirectUris = Annotated[
    list[str] | None, typer.Option("--redirect-uri", help="The app's callback URL (repeatable)")
]


def init(
    org_name: OrgName = None,
    admin_email: AdminEmail = None,
    admin_name: AdminName = None,
    password_stdin: PasswordStdin = False,
    generate_password: GeneratePassword = False,
    app_name: AppName = None,
    redirect_uri: RedirectUris = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set up a new installation: create (and migrate) the database, the first
    organization, its admin and optionally an OAuth app. Prints the ids, and the generated
    password and client secret once. Refused once an organization exists.

    Without a terminal every value must come from the options: --password-stdin or
    --generate-password for the password."""
    _check_usage(
        {"--org-name": org_name, "--admin-email": admin_email, "--admin-name": admin_name},
        password_stdin,
        generate_password,
        bool(redirect_uri) and not app_name,
    )
    from cmpapi.server.identity import admin

    settings = local_settings(data_dir=data_dir, database_url=database_url)
    with open_db(data_dir, database_url) as session:  # before asking anything
        admin.refuse_if_initialized(session)
    org_name = org_name or _ask("Organization name")
    admin_email = admin_email or _ask("Admin email")
    admin_name = admin_name or _ask("Admin full name")
    password = _password(password_stdin, generate_password)
    _configure_hashing(settings)
    who = (org_name, admin_email, admin_name, password)
    _initialize(data_dir, database_url, who, generate_password, app_name, redirect_uri or [])


def _check_usage(
    given: dict[str, str | None], from_stdin: bool, generate: bool, uris_without_app: bool
) -> None:
    """Usage errors (exit 2) before anything is touched: conflicting options, and without
    a terminal to ask on, every value that is missing."""
    if from_stdin and generate:
        die("--password-stdin and --generate-password exclude each other", 2)
    if uris_without_app:
        die("--redirect-uri needs --app NAME", 2)
    if not sys.stdin.isatty():
        missing = [option for option, value in given.items() if not value]
        if not (from_stdin or generate):
            missing.append("--password-stdin or --generate-password")
        if missing:
            die(f"no terminal to ask on: give {', '.join(missing)}", 2)


def _ask(prompt: str) -> str:
    return str(typer.prompt(prompt)).strip()


def _password(from_stdin: bool, generate: bool) -> str:
    import secrets

    if generate:
        return secrets.token_urlsafe(18)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            die("--password-stdin: no password on standard input", 2)
        return password
    if not sys.stdin.isatty():
        die(
            "no terminal to ask for the admin's password: use --password-stdin or "
            "--generate-password",
            2,
        )
    return str(typer.prompt("Admin password", hide_input=True, confirmation_prompt=True))


def _initialize(
    data_dir: Any,
    database_url: str | None,
    who: tuple[str, str, str, str],
    show_password: bool,
    app_name: str | None,
    redirect_uris: list[str],
) -> None:
    from cmpapi.server.identity import admin
    from cmpapi.server.oauth import store

    org_name, email, name, password = who
    with open_db(data_dir, database_url) as session:
        org, user = admin.initialize(
            session, org_name=org_name, admin_email=email, admin_name=name, password=password
        )
        app = secret = None
        if app_name:
            app, secret = store.create_app(
                session, org.id, name=app_name, redirect_uris=redirect_uris, token_user_id=user.id
            )
        session.commit()
    lines = [f"organization: {org.id} ({org.name})", f"admin: {user.id} ({user.email})"]
    if show_password:
        lines.append(f"admin_password: {password}")
    if app is not None:
        lines += [f"client_id: {app.client_id}", f"client_secret: {secret}"]
    if show_password or app is not None:
        lines.append(
            "# shown once: store them now (`cmpapi apps rotate-secret` makes a new secret)"
        )
    lines.append("# next: `cmpapi serve` (docs/cli.md)")
    print("\n".join(lines))


# -- users ----------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Email address (also the login)")],
    name: Annotated[str, typer.Option(help="Full name")],
    password: Annotated[str | None, typer.Option(help="Password for the login page")] = None,
    role: Annotated[str, typer.Option(help="admin, member or viewer")] = "member",
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user; prints its id."""
    from cmpapi.server.identity import service

    _configure_hashing(local_settings(data_dir=data_dir, database_url=database_url))
    with open_db(data_dir, database_url) as session:
        user = service.create_user(
            session, resolve_org(session, org), email=email, name=name, password=password, role=role
        )
        session.commit()
        print(f"id: {user.id}")


USER_COLUMNS = [
    Column("id", "id", ident=True),
    Column("email", "email"),
    Column("name", "name"),
    Column("role", "role"),
    Column("is_active", "active"),
]


def _user(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "org_id": user.org_id,
        "email": user.email,
        "username": user.username,
        "name": user.full_name,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": user.created_at,
    }


@users_app.command("list")
def users_list(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the organization's users, oldest first (deactivated ones too)."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url, write=False) as session:
        users = admin.list_users(session, resolve_org(session, org))
        print_rows([_user(u) for u in users], USER_COLUMNS, output)


@users_app.command("show")
def users_show(
    user: UserRef,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show one user and the teams they are in."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url, write=False) as session:
        row = admin.find_user(session, user)
        print_object(_user(row) | {"team_ids": admin.team_ids(session, row.id)}, output)


@users_app.command("deactivate")
def users_deactivate(
    user: UserRef, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Deactivate a user: they cannot sign in and their tokens are revoked (API processes
    notice within CMPAPI_TOKEN_CACHE_SECONDS). Their work keeps their name."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url) as session:
        row = admin.find_user(session, user)
        was_active = row.is_active
        revoked = admin.deactivate_user(session, row)
        session.commit()
        state = f"{revoked} tokens revoked" if was_active else "it already was"
        print(f"deactivated: {row.id} ({state})")


@users_app.command("set-role")
def users_set_role(
    user: UserRef,
    role: Annotated[str, typer.Argument(help="admin, member or viewer")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give a user another role (API processes notice within CMPAPI_TOKEN_CACHE_SECONDS);
    the organization keeps at least one active admin."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url) as session:
        row = admin.find_user(session, user)
        admin.set_role(session, row, role)
        session.commit()
        print(f"{row.id}: {row.role}")


@users_app.command("activate")
def users_activate(
    user: UserRef, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Let a deactivated user sign in again (tokens revoked earlier stay revoked)."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url) as session:
        row = admin.find_user(session, user)
        admin.activate_user(session, row)
        session.commit()
        print(f"activated: {row.id}")


@users_app.command("delete")
def users_delete(user: UserRef, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete a deactivated user that nothing refers to (one created by mistake): refused,
    with the reason, when anything they made, were assigned or were granted remains."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url) as session:
        row = admin.find_user(session, user)
        user_id = row.id
        admin.delete_user(session, row)
        session.commit()
        print(f"deleted: {user_id}")


# -- teams ----------------------------------------------------------------------------


@teams_app.command("create")
def teams_create(
    name: Annotated[str, typer.Option(help="Team name")],
    member: Annotated[list[str] | None, typer.Option(help="Member email (repeatable)")] = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a team with members given by email; prints its id."""
    from cmpapi.server.errors import NotFound
    from cmpapi.server.identity import service

    with open_db(data_dir, database_url) as session:
        org_id = resolve_org(session, org)
        users = [service.find_user_by_login(session, m) for m in member or []]
        if any(u is None or u.org_id != org_id for u in users):
            raise NotFound("Unknown member email")
        team = service.create_team(session, org_id, name, [u.id for u in users if u])
        session.commit()
        print(f"id: {team.id}")


TEAM_COLUMNS = [
    Column("id", "id", ident=True),
    Column("name", "name"),
    Column("member_count", "members"),
    Column("created_at", "created"),
]


def _team(team: Any) -> dict[str, Any]:
    return {
        "id": team.id,
        "org_id": team.org_id,
        "name": team.name,
        "member_count": len(team.members),
        "member_ids": [m.user_id for m in team.members],
        "created_at": team.created_at,
    }


@teams_app.command("list")
def teams_list(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the organization's teams by name."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url, write=False) as session:
        teams = admin.list_teams(session, resolve_org(session, org))
        print_rows([_team(t) for t in teams], TEAM_COLUMNS, output)


@teams_app.command("show")
def teams_show(
    team: TeamId,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show one team and its members."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url, write=False) as session:
        row = admin.find_team(session, team)
        members = [
            {
                "id": m.user.id,
                "email": m.user.email,
                "name": m.user.full_name,
                "is_active": m.user.is_active,
            }
            for m in row.members
        ]
        shown: dict[str, Any] = _team(row)
        del shown["member_ids"]
        if output is OutputFormat.table:
            print_object(
                shown | {"members": [f"{m['email']} ({m['id']})" for m in members]}, output
            )
        else:
            print_object(shown | {"members": members}, output)


@teams_app.command("delete")
def teams_delete(team: TeamId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete a team that no permission, assignment or request names (its memberships go
    with it); refused, with the reason, otherwise."""
    from cmpapi.server.identity import admin

    with open_db(data_dir, database_url) as session:
        row = admin.find_team(session, team)
        team_id = row.id
        members = admin.delete_team(session, row)
        session.commit()
        print(f"deleted: {team_id} ({members} memberships)")


def register(app: typer.Typer) -> None:
    """Attach ``init``, ``users`` and ``teams`` to the root CLI."""
    app.command()(init)
    app.add_typer(users_app, name="users")
    app.add_typer(teams_app, name="teams")
