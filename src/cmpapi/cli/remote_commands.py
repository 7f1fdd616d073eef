"""Attaches the remote commands (any CMP, through the SDK) to the root CLI."""

from __future__ import annotations

import typer

from cmpapi.cli import (
    api_command,
    auth_commands,
    library_remote,
    listen_command,
    remote_tasks,
    upload_command,
)
from cmpapi.cli.auth_commands import REMOTE_PANEL


def register(app: typer.Typer, tasks_app: typer.Typer) -> None:
    """login, whoami, logout, assets, folders, campaigns, api, listen and trigger on
    ``app``; list, get and complete-sub-step on the (local) ``tasks`` group."""
    auth_commands.register(app)
    upload_command.register()
    for name, group in (
        ("assets", library_remote.assets_app),
        ("folders", library_remote.folders_app),
        ("campaigns", library_remote.campaigns_app),
    ):
        app.add_typer(group, name=name, rich_help_panel=REMOTE_PANEL)
    app.command("api", rich_help_panel=REMOTE_PANEL)(api_command.api)
    listen_command.register(app)
    remote_tasks.register(tasks_app)
