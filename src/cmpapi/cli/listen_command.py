"""``cmpapi listen`` and ``cmpapi trigger`` (like ``stripe listen`` and ``stripe trigger``):
a cmpapi server's events forwarded to a local URL as signed deliveries, with no webhook to
register and no public URL; sample events on demand. cmpapi's own ``/ext/v1`` API, so a
cmpapi server only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.auth_commands import REMOTE_PANEL
from cmpapi.cli.remote import OutputOption, ProfileOption

FORWARD_TIMEOUT = 10.0  # seconds a local endpoint may take, as a real delivery allows


def listen(
    forward_to: Annotated[str, typer.Option(help="Local URL to POST each event to")],
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help="Only these events (repeat)")
    ] = None,
    signing_key: Annotated[
        str | None,
        typer.Option(
            envvar="CMPAPI_LISTEN_SIGNING_KEY",
            help="whsec_... key to sign with (default: a new one, printed at start)",
        ),
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="Also send this Callback-Secret header")
    ] = None,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Forward the organization's events, as they are recorded, to a local URL: each POST
    carries the body and the signature headers a real delivery would. One line per event
    with the local answer. Ctrl-C stops."""
    import httpx

    from cmpapi.client.webhooks import new_signing_key, sign

    key = signing_key or new_signing_key()
    with remote.session(profile) as client, httpx.Client(timeout=FORWARD_TIMEOUT) as local:
        # From this moment, not from whenever the connection opens: nothing recorded
        # after the line below is printed is missed.
        since = datetime.now(UTC)
        stream = client.extensions.stream_events(since=since, event_names=event or ())
        remote.err.print(f"Forwarding events to {forward_to}; signing key {key} (Ctrl-C stops)")
        for streamed in stream:
            headers = sign(
                streamed.body, signing_key=key, webhook_id=streamed.webhook_id, secret=secret
            )
            try:
                answer = str(
                    local.post(forward_to, content=streamed.body, headers=headers).status_code
                )
            except httpx.HTTPError as exc:
                answer = f"failed: {exc}"
            now = datetime.now(UTC).strftime("%H:%M:%S")
            print(
                f"{now}  {streamed.event_name:<34} {streamed.webhook_id}  -> {answer}", flush=True
            )


def trigger(
    event_name: Annotated[str, typer.Argument(help="One of the CMP's 43 webhook events")],
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
    output: OutputOption = remote.Output.table,
) -> None:
    """Make the server record a sample event of this name: delivered to webhooks, sent to
    `cmpapi listen`."""
    with remote.session(profile) as client:
        recorded = client.extensions.trigger_event(event_name)
    if output is remote.Output.json:
        remote.print_json(recorded)
    else:
        print(f"{recorded['event_name']} {recorded['id']}")


def register(app: typer.Typer) -> None:
    """``listen`` and ``trigger`` on the root command."""
    app.command("listen", rich_help_panel=REMOTE_PANEL)(listen)
    app.command("trigger", rich_help_panel=REMOTE_PANEL)(trigger)
