"""``cmpapi login``, ``whoami`` and ``logout``: a profile's sign-in, through the SDK only."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.remote import OutputOption, ProfileOption

REMOTE_PANEL = "Remote (any CMP, through the API)"


def login(
    server: Annotated[
        str | None,
        typer.Option(help="Root URL of a cmpapi server (default: the real CMP's URLs)"),
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="The app's client_id")] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="CMPAPI_CLIENT_SECRET",
            help="The app's client_secret (client credentials, confidential apps)",
        ),
    ] = None,
    client_credentials: Annotated[
        bool,
        typer.Option(
            "--client-credentials", help="Sign in as the app (client_id + secret), no browser"
        ),
    ] = False,
    scope: Annotated[str | None, typer.Option(help="Scopes, space separated")] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            help="Loopback callback URL; without a port, a free one "
            "[default: http://localhost/callback]"
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in URL, do not open it")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the browser sign-in")
    ] = 300.0,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Sign in and save the profile (browser, or --client-credentials).

    In the browser: the authorization code flow with PKCE, its callback received on this
    machine. With --client-credentials: as the app itself. Options given are saved into
    the profile; those left out come from it."""
    with remote.reporting(profile, hint=False):
        grant = "client_credentials" if client_credentials else "authorization_code"
        settings = profiles.load(profile).updated(
            server=server,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            redirect_uri=redirect_uri,
            grant=grant,
        )
        if server is not None and not server.startswith(("http://", "https://")):
            remote.fail(f"--server {server}: expected an http(s) URL", remote.EXIT_USAGE)
        if not settings.client_id:
            remote.fail("login needs --client-id (the app's client_id)", remote.EXIT_USAGE)
        if client_credentials and not settings.client_secret:
            remote.fail("--client-credentials needs --client-secret", remote.EXIT_USAGE)
        with remote.connect(settings, require_token=False) as client:
            if client_credentials:
                client.fetch_token()
            else:
                _browser_login(client, settings, open_browser=not no_browser, timeout=timeout)
            claims = _claims(client)
        profiles.save(settings)
    who = claims.get("email") or claims.get("name") or claims.get("sub") or settings.client_id
    remote.err.print(
        f"Logged in to {settings.where} as {who} (profile {profile}).", highlight=False
    )


def _claims(client: Any) -> dict[str, Any]:
    """The token's userinfo claims, or none: a server may not answer userinfo for every
    token (client credentials), which does not make the login fail."""
    from cmpapi.client import APIError

    try:
        claims: dict[str, Any] = client.userinfo()
    except APIError:
        return {}
    return claims


def _browser_login(
    client: Any, settings: profiles.Profile, *, open_browser: bool, timeout: float
) -> None:
    from cmpapi.client.loopback import DEFAULT_REDIRECT_URI, login_in_browser

    def show(url: str) -> None:
        hint = "If no browser opened, open" if open_browser else "Open"
        remote.err.print(f"{hint} this URL to sign in:", highlight=False)
        # Alone on its line and never wrapped: people copy it, tests read it.
        print(url, flush=True)

    kwargs = {"scope": settings.scope} if settings.scope else {}
    login_in_browser(
        client,
        redirect_uri=settings.redirect_uri or DEFAULT_REDIRECT_URI,
        open_browser=open_browser,
        timeout=timeout,
        show=show,
        **kwargs,
    )


def whoami(
    profile: ProfileOption = profiles.DEFAULT_PROFILE, output: OutputOption = remote.Output.table
) -> None:
    """Who the profile's token signs in as (the userinfo claims), and where."""
    with remote.session(profile) as client:
        claims = client.userinfo()
        token = client.token
    settings = profiles.load(profile)
    record = profiles.describe(settings) | {"claims": claims}
    if token is not None and token.expires_at is not None:
        from datetime import UTC, datetime

        expiry = datetime.fromtimestamp(token.expires_at, UTC).isoformat(timespec="seconds")
        record["token_expires_at"] = expiry.replace("+00:00", "Z")
    if output is remote.Output.json:
        remote.print_json(record)
    else:
        remote.print_record({k: v for k, v in record.items() if k != "claims"} | claims)


def logout(profile: ProfileOption = profiles.DEFAULT_PROFILE) -> None:
    """Revoke the profile's token and forget it.

    The profile's settings stay, for the next ``cmpapi login``."""
    store = profiles.token_store(profile)
    with remote.reporting(profile):
        if store.load() is None:
            remote.err.print(f"Not logged in (profile {profile}).", highlight=False)
            return
        try:
            with remote.connect(profiles.load(profile)) as client:
                client.revoke()
        finally:  # forgotten here even when the server could not be told
            store.save(None)
    remote.err.print(f"Logged out (profile {profile}).", highlight=False)


def register(app: typer.Typer) -> None:
    """Attach login, whoami and logout to the root CLI."""
    for command in (login, whoami, logout):
        app.command(rich_help_panel=REMOTE_PANEL)(command)
