"""Workflows, templates and tasks on this machine: workflow and template import (the API has
no create), the task states the API cannot set (On Hold, Archived), and asking for a
preview of a task's structured content (the API has no operation for it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    fail,
    local_settings,
    open_db,
    print_rows,
    resolve_org,
)

workflows_app = typer.Typer(help="Workflow definitions.", no_args_is_help=True)
tasks_app = typer.Typer(
    help="Task states the API cannot set; content previews.", no_args_is_help=True
)
templates_app = typer.Typer(help="Work request and brief templates.", no_args_is_help=True)


@workflows_app.command("import")
def import_workflows(
    file: Annotated[Path, typer.Argument(help="JSON: a Settings `workflows` list (or one item)")],
    dry_run: Annotated[bool, typer.Option(help="Show what would change, change nothing")] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace same-name workflows (default: add 'Copy of <name>')")
    ] = False,
    org: Org = None,
    data_dir: DataDir = None,
) -> None:
    """Create workflows from the Settings ``workflows`` shape (updateSettings' rules)."""
    from pydantic import TypeAdapter, ValidationError

    from cmpapi.server.errors import DomainError
    from cmpapi.server.resources.publishing import channels
    from cmpapi.server.resources.workflows import service
    from cmpapi.wire import SettingsWorkflow

    try:
        raw = json.loads(file.read_text())
        items = TypeAdapter(list[SettingsWorkflow]).validate_python(
            raw if isinstance(raw, list) else [raw]
        )
    except (OSError, ValueError, ValidationError) as exc:
        raise fail(exc) from exc
    with open_db(data_dir) as session:
        try:
            org_id = resolve_org(session, org)
            created, updated = service.import_workflows(
                session, org_id, items, execute=not dry_run, overwrite=overwrite
            )
            if not dry_run:  # their default webhook channels, as updateSettings does
                channels.merge_workflow_channels(session, org_id, items)
        except DomainError as exc:
            raise fail(exc) from exc
        session.commit()
    for action, names in (("created", created), ("updated", updated)):
        for name in names:
            print(f"{'would be ' if dry_run else ''}{action}: {name}")


@workflows_app.command("list")
def list_workflows(
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    output: Output = OutputFormat.table,
) -> None:
    """Show the organization's workflows (reads only: creates and migrates nothing)."""
    from sqlalchemy import select

    from cmpapi.server.resources.workflows.tables import Workflow

    with open_db(data_dir, database_url, write=False) as session:
        found = session.scalars(
            select(Workflow)
            .where(Workflow.org_id == resolve_org(session, org))
            .order_by(Workflow.name)
        ).all()
        rows = [
            {
                "id": w.id,
                "name": w.name,
                "steps": [s["name"] for s in w.steps],
                "is_active": w.is_active,
            }
            for w in found
        ]
    steps = Column("steps", "steps", show=lambda row: " > ".join(row["steps"]))
    print_rows(
        rows,
        [
            Column("id", "id", ident=True),
            Column("name", "name"),
            steps,
            Column("is_active", "active"),
        ],
        output,
    )


@templates_app.command("import")
def import_templates(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON: a Settings `templates` list (or one item), or a Settings document "
            "whose `templates` and `routing_rules` are imported"
        ),
    ],
    dry_run: Annotated[bool, typer.Option(help="Show what would change, change nothing")] = False,
    org: Org = None,
    data_dir: DataDir = None,
) -> None:
    """Create or update templates (and routing rules) by name, as updateSettings does."""
    from pydantic import TypeAdapter, ValidationError

    from cmpapi.server.errors import DomainError
    from cmpapi.server.resources.templates import service
    from cmpapi.wire import SettingsRoutingRule, SettingsTemplate

    try:
        raw = json.loads(file.read_text())
        if isinstance(raw, dict) and "resources" in raw:
            raw = raw["resources"]
        document = isinstance(raw, dict) and "templates" in raw
        items = raw["templates"] if document else raw if isinstance(raw, list) else [raw]
        templates = TypeAdapter(list[SettingsTemplate]).validate_python(items)
        rules = TypeAdapter(list[SettingsRoutingRule]).validate_python(
            raw.get("routing_rules", []) if document else []
        )
    except (OSError, ValueError, ValidationError) as exc:
        raise fail(exc) from exc
    with open_db(data_dir) as session:
        org_id = resolve_org(session, org)
        try:
            changes = {
                "template": service.import_templates(session, org_id, templates, not dry_run),
                "routing rule": service.import_routing_rules(
                    session, org_id, rules, [t.name for t in templates], not dry_run
                ),
            }
        except DomainError as exc:
            raise fail(exc) from exc
        session.commit()
    for kind, (created, updated) in changes.items():
        for action, names in (("created", created), ("updated", updated)):
            for name in names:
                print(f"{kind} {'would be ' if dry_run else ''}{action}: {name}")


@templates_app.command("list")
def list_templates(
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    output: Output = OutputFormat.table,
) -> None:
    """Show the organization's templates (reads only: creates and migrates nothing)."""
    from sqlalchemy import select

    from cmpapi.server.resources.templates.tables import Template

    with open_db(data_dir, database_url, write=False) as session:
        found = session.scalars(
            select(Template)
            .where(Template.org_id == resolve_org(session, org))
            .order_by(Template.title)
        ).all()
        rows = [
            {
                "id": t.id,
                "title": t.title,
                "applicable_to": list(t.applicable_to),
                "fields": len(t.form_fields),
                "is_active": t.is_active,
            }
            for t in found
        ]
    applicable = Column(
        "applicable_to", "applicable to", show=lambda r: ", ".join(r["applicable_to"])
    )
    print_rows(
        rows,
        [
            Column("id", "id", ident=True),
            Column("title", "title"),
            applicable,
            Column("fields", "fields"),
            Column("is_active", "active"),
        ],
        output,
    )


def _set_flag(task_id: str, flag: str, value: bool, org: str | None, data_dir: Path | None) -> None:
    from cmpapi.server.errors import DomainError
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.tasks import service

    settings = local_settings(data_dir=data_dir)
    links = Links(settings.public_base_url or f"http://{settings.host}:{settings.port}")
    with open_db(data_dir) as session:
        try:
            task = service.set_task_flag(
                session, links, resolve_org(session, org), task_id, flag, value
            )
        except DomainError as exc:
            raise fail(exc) from exc
        print(f"{task.id}: {task.status}")


@tasks_app.command("hold")
def hold(task_id: str, org: Org = None, data_dir: DataDir = None) -> None:
    """Put a task on hold: its workflow cannot move until it is resumed."""
    _set_flag(task_id, "is_on_hold", True, org, data_dir)


@tasks_app.command("resume")
def resume(task_id: str, org: Org = None, data_dir: DataDir = None) -> None:
    """Take a task off hold."""
    _set_flag(task_id, "is_on_hold", False, org, data_dir)


@tasks_app.command("archive")
def archive(task_id: str, org: Org = None, data_dir: DataDir = None) -> None:
    """Archive a task: read-only from then on."""
    _set_flag(task_id, "is_archived", True, org, data_dir)


@tasks_app.command("unarchive")
def unarchive(task_id: str, org: Org = None, data_dir: DataDir = None) -> None:
    """Bring an archived task back."""
    _set_flag(task_id, "is_archived", False, org, data_dir)


@tasks_app.command("preview")
def preview(task_id: str, content_id: str, org: Org = None, data_dir: DataDir = None) -> None:
    """Ask for a preview of a task's structured content: records content_preview_requested
    (the webhooks deliver it); prints the preview id and its acknowledge / complete URLs."""
    from cmpapi.server.errors import DomainError
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.structured_content import previews

    settings = local_settings(data_dir=data_dir)
    links = Links(settings.public_base_url or f"http://{settings.host}:{settings.port}")
    with open_db(data_dir) as session:
        try:
            made = previews.request_preview_as_operator(
                session, links, resolve_org(session, org), task_id, content_id
            )
        except DomainError as exc:
            raise fail(exc) from exc
        print(made.id)
        for name, url in previews.action_links(links, made).items():
            print(f"{name}: {url}")
