"""``cmpapi publishing ...``: webhook publishing channels, and publishing, re-syncing or
withdrawing a task's assets on one, on this machine's database (what the CMP does from
its web app; a worker delivers the resulting webhooks). docs/compat.md, Publishing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    local_settings,
    open_db,
    print_rows,
    resolve_org,
)

publishing_app = typer.Typer(
    help="Webhook publishing channels and publishing task assets on them.", no_args_is_help=True
)
channels_app = typer.Typer(help="Webhook publishing channels.", no_args_is_help=True)
publishing_app.add_typer(channels_app, name="channels")

Channel = Annotated[str, typer.Option("--channel", help="Channel id or name")]
Assets = Annotated[
    list[str] | None, typer.Option("--asset", help="Only this task asset (repeatable)")
]
Locales = Annotated[
    list[str] | None, typer.Option("--locale", help="A locale metadata may name (repeatable)")
]
Domains = Annotated[
    list[str] | None,
    typer.Option("--domain", help="A domain public URLs must be on (repeatable)"),
]


@contextmanager
def _session(
    data_dir: Path | None, org: str | None, database_url: str | None = None, *, write: bool = True
) -> Iterator[tuple[Any, str]]:
    """``(session, org_id)``; domain errors exit 1 with their message."""
    with open_db(data_dir, database_url, write=write) as session:
        yield session, resolve_org(session, org)


def _channel_id(session: Any, org_id: str, channel: str) -> str:
    """An id as given, or the id of the channel of that name (case-insensitive)."""
    from sqlalchemy import func, select

    from cmpapi.server.resources.publishing.tables import PublishingChannel

    found = session.scalar(
        select(PublishingChannel.id).where(
            PublishingChannel.org_id == org_id,
            (PublishingChannel.id == channel)
            | (func.lower(PublishingChannel.name) == channel.strip().casefold()),
        )
    )
    return str(found or channel)


@channels_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Channel name (unique in the organization)")],
    disabled: Annotated[bool, typer.Option(help="Create it disabled")] = False,
    locale: Locales = None,
    domain: Domains = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a webhook publishing channel; prints its id."""
    from cmpapi.server.resources.publishing import channels

    with _session(data_dir, org, database_url) as (session, org_id):
        channel = channels.add_channel(
            session,
            org_id,
            name,
            disabled=disabled,
            locales=locale or [],
            allowed_domains=domain or [],
        )
        session.commit()
        print(channel.id)


def _set_disabled(
    channel: str, value: bool, org: str | None, data_dir: Path | None, database_url: str | None
) -> None:
    from cmpapi.server.resources.publishing import channels

    with _session(data_dir, org, database_url) as (session, org_id):
        row = channels.change_channel(
            session, org_id, _channel_id(session, org_id, channel), {"disabled": value}
        )
        session.commit()
        print(f"{row.id}: {'disabled' if row.disabled else 'enabled'}")


@channels_app.command("disable")
def disable(
    channel: Annotated[str, typer.Argument(help="Channel id or name")],
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Disable a channel: nothing is published on it until it is enabled."""
    _set_disabled(channel, True, org, data_dir, database_url)


@channels_app.command("enable")
def enable(
    channel: Annotated[str, typer.Argument(help="Channel id or name")],
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Enable a disabled channel."""
    _set_disabled(channel, False, org, data_dir, database_url)


@channels_app.command("list")
def list_channels(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the organization's publishing channels."""
    from sqlalchemy import select

    from cmpapi.server.resources.publishing.tables import PublishingChannel

    with _session(data_dir, org, database_url, write=False) as (session, org_id):
        rows = session.scalars(
            select(PublishingChannel)
            .where(PublishingChannel.org_id == org_id)
            .order_by(PublishingChannel.name)
        ).all()
        channels = [
            {
                "id": c.id,
                "name": c.name,
                "type": c.type,
                "disabled": c.disabled,
                "locales": list(c.locales),
                "allowed_domains": list(c.allowed_domains),
            }
            for c in rows
        ]
        print_rows(channels, CHANNEL_COLUMNS, output)


CHANNEL_COLUMNS = [
    Column("id", "id", ident=True),
    Column("name", "name"),
    Column("type", "type"),
    Column("disabled", "disabled"),
    Column("locales", "locales"),
    Column("allowed_domains", "domains"),
]


def _push(
    task_id: str,
    channel: str,
    assets: list[str] | None,
    withdraw: bool,
    org: str | None,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.publishing import service

    settings = local_settings(data_dir=data_dir, database_url=database_url)
    links = Links(settings.public_base_url or f"http://{settings.host}:{settings.port}")
    with _session(data_dir, org, database_url) as (session, org_id):
        view = service.push_task(
            session,
            links,
            org_id,
            _channel_id(session, org_id, channel),
            task_id,
            assets or None,
            None,
            withdraw=withdraw,
        )
        for row in view.assets:
            print(f"{view.event.id}: {row.action} {row.asset_type} {row.asset_id}")


@publishing_app.command("publish")
def publish(
    task_id: Annotated[str, typer.Argument(help="Task id")],
    channel: Channel,
    asset: Assets = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Publish a task's assets on a channel (``asset_published``; assets already live there
    are re-synced: ``asset_synced``). Prints the publishing event's id and what it did."""
    _push(task_id, channel, asset, False, org, data_dir, database_url)


@publishing_app.command("withdraw")
def withdraw(
    task_id: Annotated[str, typer.Argument(help="Task id")],
    channel: Channel,
    asset: Assets = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Withdraw a task's assets from a channel (``asset_unpublished``)."""
    _push(task_id, channel, asset, True, org, data_dir, database_url)
