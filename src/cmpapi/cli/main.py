"""The ``cmpapi`` command line."""

from __future__ import annotations

import sys

import typer

from cmpapi.cli import (
    app_commands,
    backup_commands,
    identity_commands,
    jobs_commands,
    library_commands,
    local,
    publishing_commands,
    remote_commands,
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
identity_commands.register(app)
app_commands.register(app)
jobs_commands.register(app)
app.add_typer(library_commands.renditions_app, name="renditions")
app.add_typer(task_commands.workflows_app, name="workflows")
app.add_typer(task_commands.tasks_app, name="tasks")
app.add_typer(task_commands.templates_app, name="templates")
webhook_commands.register(app)
app.add_typer(publishing_commands.publishing_app, name="publishing")
backup_commands.register(app)
remote_commands.register(app, tasks_app=task_commands.tasks_app)


def main() -> None:
    """The ``cmpapi`` entry point: the CLI, with an error no command expected printed as one
    line (exit 1) instead of a traceback (docs/cli.md#errors-and-exit-codes)."""
    try:
        app()
    except ModuleNotFoundError as exc:
        if (exc.name or "cmpapi").partition(".")[0] == "cmpapi":
            local.unexpected(exc)
            sys.exit(1)
        # `pip install cmpapi` gives the SDK and the remote commands; the local ones
        # import the server, whose packages come with the extra.
        local.err.print(
            f"error: this command runs the server, whose packages are not installed "
            f"({exc.name} is missing): pip install 'cmpapi[server]'",
            soft_wrap=True,
            markup=False,
        )
        sys.exit(1)
    except Exception as exc:
        local.unexpected(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
