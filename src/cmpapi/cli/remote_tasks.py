"""``cmpapi tasks list|get|complete-sub-step``: tasks of any CMP, through the SDK. They join
the ``tasks`` group of the local commands (hold, resume, archive...), under their own
heading in ``cmpapi tasks --help``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cmpapi.cli import profiles, remote
from cmpapi.cli.auth_commands import REMOTE_PANEL
from cmpapi.cli.remote import (
    DEFAULT_LIMIT,
    AllOption,
    LimitOption,
    Output,
    OutputOption,
    ProfileOption,
    field,
)

LOCAL_PANEL = "Local (this machine's database)"
GROUP_HELP = (
    "Tasks. list, get and complete-sub-step go through the API of any CMP (--profile); "
    "hold, resume, archive, unarchive and preview work on this machine's database."
)
TASK_COLUMNS = [
    ("ID", field("id")),
    ("REF", field("reference_id")),
    ("TITLE", field("title")),
    ("STATUS", field("status")),
    ("DUE", field("due_at")),
]
STEP_COLUMNS = [
    ("STEP", field("step_id")),
    ("SUB-STEP", field("id")),
    ("TITLE", field("title")),
    ("STATE", field("state")),
]
Status = Annotated[
    list[str] | None,
    typer.Option(
        help="Archived, Completed, Overdue, 'Not Started', 'In Progress' or 'On Hold' (repeatable)"
    ),
]


def tasks_list(
    search: Annotated[str | None, typer.Option(help="Text the title contains")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign id")] = None,
    workflow: Annotated[str | None, typer.Option(help="Workflow id")] = None,
    milestone: Annotated[str | None, typer.Option(help="Milestone id")] = None,
    start_date: Annotated[str | None, typer.Option(help="ISO 8601 date")] = None,
    due_date: Annotated[str | None, typer.Option(help="ISO 8601 date")] = None,
    status: Status = None,
    limit: LimitOption = DEFAULT_LIMIT,
    all_: AllOption = False,
    output: OutputOption = Output.table,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """List tasks (listTasks)."""
    with remote.session(profile) as client:
        pager = client.tasks.list_tasks(
            search_key=search,
            campaign=campaign,
            workflow=workflow,
            milestone=milestone,
            start_date=start_date,
            due_date=due_date,
            status=status,
            page_size=remote.page_size(limit, all_),
        )
        rows = remote.collect(pager, limit, all_)
    remote.show(rows, output, TASK_COLUMNS)


def tasks_get(
    task_id: Annotated[str, typer.Argument(help="Task id")],
    output: OutputOption = Output.table,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Show one task (getTask); the table form lists its steps and sub-steps too."""
    with remote.session(profile) as client:
        task = remote.plain(client.tasks.get_task(task_id))
    if output is Output.json:
        remote.print_json(task)
        return
    remote.print_record({k: v for k, v in task.items() if k != "steps"})
    sub_steps = [
        sub | {"step_id": step["id"], "state": _state(sub)}
        for step in task.get("steps") or []
        for sub in step.get("sub_steps") or []
    ]
    if sub_steps:
        remote.out.print()
        remote.print_table(sub_steps, STEP_COLUMNS, ids=2)


def _state(sub_step: dict[str, Any]) -> str:
    for flag, state in (
        ("is_completed", "completed"),
        ("is_skipped", "skipped"),
        ("is_in_progress", "in progress"),
    ):
        if sub_step.get(flag):
            return state + (" (external)" if sub_step.get("is_external") else "")
    return "external" if sub_step.get("is_external") else "open or waiting"


def complete_sub_step(
    task_id: Annotated[str, typer.Argument(help="Task id")],
    sub_step_id: Annotated[str, typer.Argument(help="Sub-step id (see `cmpapi tasks get`)")],
    step: Annotated[
        str | None, typer.Option(help="Its step's id (default: looked up in the task)")
    ] = None,
    skip: Annotated[bool, typer.Option("--skip", help="Skip it instead")] = False,
    external_id: Annotated[
        str | None, typer.Option(help="External work: the ticket's identifier (JIRA-42)")
    ] = None,
    external_status: Annotated[str | None, typer.Option(help="External work: status")] = None,
    external_title: Annotated[str | None, typer.Option(help="External work: title")] = None,
    external_url: Annotated[str | None, typer.Option(help="External work: URL")] = None,
    output: OutputOption = Output.table,
    profile: ProfileOption = profiles.DEFAULT_PROFILE,
) -> None:
    """Complete (or skip) a sub-step (updateTaskSubStep).

    The --external-* options first record the external work
    (updateTaskSubStepExternalWork): an external system's app completes a deferred
    approval this way, with its client-credentials profile."""
    external = {
        "identifier": external_id,
        "status": external_status,
        "title": external_title,
        "url": external_url,
    }
    external = {k: v for k, v in external.items() if v is not None}
    with remote.session(profile) as client:
        step_id = step or _step_of(client, task_id, sub_step_id)
        if external:
            client.tasks.update_task_sub_step_external_work(
                task_id, step_id, sub_step_id, body=external
            )
        change = {"is_skipped": True} if skip else {"is_completed": True}
        done = client.tasks.update_task_sub_step(task_id, step_id, sub_step_id, body=change)
    remote.show(done, output)


def _step_of(client: Any, task_id: str, sub_step_id: str) -> str:
    task = client.tasks.get_task(task_id)
    for step in task.steps or []:
        if any(sub.id == sub_step_id for sub in step.sub_steps or []):
            return str(step.id)
    remote.fail(f"task {task_id} has no sub-step {sub_step_id}")


def register(tasks_app: typer.Typer) -> None:
    """Add the remote task commands to the ``tasks`` group; the local ones already there
    go under a heading that says they are local."""
    for command in tasks_app.registered_commands:
        command.rich_help_panel = command.rich_help_panel or LOCAL_PANEL
    tasks_app.info.help = GROUP_HELP
    tasks_app.command("list", rich_help_panel=REMOTE_PANEL)(tasks_list)
    tasks_app.command("get", rich_help_panel=REMOTE_PANEL)(tasks_get)
    tasks_app.command("complete-sub-step", rich_help_panel=REMOTE_PANEL)(complete_sub_step)
