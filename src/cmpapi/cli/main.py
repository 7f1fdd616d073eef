"""The ``cmpapi`` command line."""

from __future__ import annotations

import typer

from cmpapi.cli import (
    backup_commands,
    jobs_commands,
    library_commands,
    publishing_commands,
    server_commands,
    task_commands,
    webhook_commands,
)

app = typer.Typer(
    name="cmpapi",
    help="cmpapi: a self-hostable Optimizely CMP Open API v3 server, SDK and CLI.",
    no_args_is_help=True,
    add_completion=False,
)
# Every command group is attached here; command modules import only ``cli.local``.
server_commands.register(app)
jobs_commands.register(app)
app.add_typer(library_commands.renditions_app, name="renditions")
app.add_typer(task_commands.workflows_app, name="workflows")
app.add_typer(task_commands.tasks_app, name="tasks")
app.add_typer(task_commands.templates_app, name="templates")
webhook_commands.register(app)
app.add_typer(publishing_commands.publishing_app, name="publishing")
backup_commands.register(app)

if __name__ == "__main__":
    app()
