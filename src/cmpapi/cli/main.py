"""The ``cmpapi`` command line."""

from __future__ import annotations

import typer

from cmpapi.cli import server_commands, webhook_commands

app = typer.Typer(
    name="cmpapi",
    help="cmpapi: a self-hostable Optimizely CMP Open API v3 server, SDK and CLI.",
    no_args_is_help=True,
    add_completion=False,
)
server_commands.register(app)
webhook_commands.register(app)

if __name__ == "__main__":
    app()
