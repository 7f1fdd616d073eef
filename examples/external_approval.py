"""A ticket system that takes over a workflow's external step (the CMP's "Jira" sub-step).

``serve`` receives the CMP's webhooks: when a task reaches an external sub-step of this
system (``external_sub_step_started``), it opens a ticket (here a JSON file in TICKETS) and
links it to the sub-step. ``approve`` is the ticket being approved: it marks the ticket
done and completes the sub-step, which the CMP's own users cannot do when the sub-step
defers its approval to the external system.

    pip install cmpapi uvicorn
    export CMP_CLIENT_ID=... CMP_CLIENT_SECRET=... CMP_WEBHOOK_SECRET=...   # the "Jira" app
    python examples/external_approval.py serve ./tickets --port 9001
    python examples/external_approval.py approve ./tickets CMP-1

Register ``http://<this host>:9001/`` as a webhook for external_sub_step_started.
``CMP_SERVER`` (e.g. ``http://127.0.0.1:8080``) points it at a cmpapi server.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import uvicorn

from cmpapi.client import Client, Event, webhook_app


def connect() -> Client:
    return Client(
        server=os.environ.get("CMP_SERVER"),
        client_id=os.environ["CMP_CLIENT_ID"],
        client_secret=os.environ["CMP_CLIENT_SECRET"],
    )


def open_ticket(cmp: Client, tickets: Path, system: str, event: Event) -> None:
    """An external sub-step of ``system`` started: a ticket for it, linked in the CMP."""
    if event.event_name != "external_sub_step_started":
        return
    data = event.data
    if data.external_work.external_system != system:  # type: ignore[union-attr]
        return
    task, step, sub_step = data.task.id, data.step.id, data.sub_step.id  # type: ignore[union-attr]
    ticket = f"CMP-{len(list(tickets.glob('*.json'))) + 1}"
    title = cmp.tasks.get_task(task).title
    record = {"task": task, "step": step, "sub_step": sub_step, "title": title, "status": "Open"}
    (tickets / f"{ticket}.json").write_text(json.dumps(record, indent=2))
    link = {"identifier": ticket, "title": f"Review: {title}", "status": "Open"}
    cmp.tasks.update_task_sub_step_external_work(task, step, sub_step, body=link)
    print(f"{ticket} opened for task {task}", flush=True)


def approve(cmp: Client, tickets: Path, ticket: str) -> None:
    """The ticket is approved: say so in the CMP and complete the sub-step."""
    path = tickets / f"{ticket}.json"
    record = json.loads(path.read_text())
    ids = record["task"], record["step"], record["sub_step"]
    cmp.tasks.update_task_sub_step_external_work(*ids, body={"status": "Approved"})
    cmp.tasks.update_task_sub_step(*ids, body={"is_completed": True})
    path.write_text(json.dumps({**record, "status": "Approved"}, indent=2))
    print(f"{ticket} approved: sub-step completed", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("tickets", type=Path)
    serve.add_argument("--system", default="Jira")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9001)
    done = commands.add_parser("approve")
    done.add_argument("tickets", type=Path)
    done.add_argument("ticket")
    args = parser.parse_args()
    cmp = connect()
    if args.command == "approve":
        approve(cmp, args.tickets, args.ticket)
        return
    args.tickets.mkdir(parents=True, exist_ok=True)
    app = webhook_app(
        lambda event: open_ticket(cmp, args.tickets, args.system, event),
        secret=os.environ["CMP_WEBHOOK_SECRET"],
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
