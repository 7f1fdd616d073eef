"""``cmpapi webhooks ...``: manage webhooks and read their delivery log on this machine's
database (like the other server commands; a worker does the delivering)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from cmpapi.cli.local import (
    Column,
    DatabaseUrl,
    DataDir,
    Org,
    Output,
    OutputFormat,
    database,
    local_settings,
    print_rows,
    resolve_org,
)

webhooks_app = typer.Typer(
    help="Webhooks and their deliveries (docs/webhooks.md).", no_args_is_help=True
)
Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show")]
WebhookId = Annotated[str, typer.Argument(help="Webhook id")]


@contextmanager
def _context(
    data_dir: Any, database_url: str | None, org: str | None, *, write: bool = True
) -> Iterator[Any]:
    """``(settings, session, org_id)``; a database that is ready (``local.open_db``);
    domain errors exit 1."""
    settings = local_settings(data_dir=data_dir, database_url=database_url)
    with database(settings, write=write) as session:
        yield settings, session, resolve_org(session, org)


def _vet(url: str | None, settings: Any) -> None:
    """Refuse a URL whose host resolves to a refused address (the DNS half of the check)."""
    from cmpapi.server.errors import Invalid
    from cmpapi.server.webhooks.ssrf import check_callback_url, check_resolves

    if url and check_callback_url(url, settings) is None:
        reason = asyncio.run(check_resolves(url, settings))
        if reason:
            raise Invalid("Invalid webhook", {"callback_url": reason})


def _show(webhook: Any) -> None:
    print(
        f"id: {webhook.id}\nname: {webhook.name}\ncallback_url: {webhook.callback_url}\n"
        f"event_names: {','.join(webhook.event_names)}\nis_active: {webhook.is_active}\n"
        f"signing_key: {webhook.signing_key}"
    )
    if webhook.disabled_reason:
        print(f"disabled_reason: {webhook.disabled_reason}")


@webhooks_app.command("list")
def list_webhooks(
    org: Org = None,
    output: Output = OutputFormat.table,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the organization's webhooks."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org, write=False) as (_s, session, org_id):
        page = service.list_webhooks(session, org_id, page_size=1000)
        rows = [
            {
                "id": w.id,
                "name": w.name,
                "callback_url": w.callback_url,
                "event_names": list(w.event_names),
                "is_active": w.is_active,
                "failing_since": w.failing_since,
                "disabled_reason": w.disabled_reason,
            }
            for w in page.items
        ]
        print_rows(rows, WEBHOOK_COLUMNS, output)


def _health(row: Any) -> Any:
    return row["disabled_reason"] or row["failing_since"]


WEBHOOK_COLUMNS = [
    Column("id", "id", ident=True),
    Column("name", "name"),
    Column("is_active", "active"),
    Column("callback_url", "callback url"),
    Column("event_names", "events"),
    Column("failing_since", "failing since / reason", show=_health),
]


@webhooks_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Webhook name")],
    url: Annotated[str, typer.Option("--url", help="Callback URL (https)")],
    event: Annotated[list[str], typer.Option("--event", help="Event name (repeatable)")],
    secret: Annotated[str | None, typer.Option(help="Sent as Callback-Secret (<= 32)")] = None,
    description: Annotated[str, typer.Option(help="Free text")] = "",
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a webhook; prints it with its signing key."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (settings, session, org_id):
        _vet(url, settings)
        _show(
            service.create_webhook(
                session,
                org_id,
                name=name,
                callback_url=url,
                event_names=event,
                secret=secret,
                description=description,
                settings=settings,
            )
        )


@webhooks_app.command("update")
def update(
    webhook_id: WebhookId,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    url: Annotated[str | None, typer.Option("--url", help="New callback URL")] = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", help="Replace the event names (repeatable)")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="New secret")] = None,
    no_secret: Annotated[bool, typer.Option("--no-secret", help="Remove the secret")] = False,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change a webhook; only the options given change."""
    from cmpapi.server.webhooks import service

    changes: dict[str, Any] = {
        "name": name,
        "callback_url": url,
        "event_names": event,
        "secret": secret,
        "description": description,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if no_secret:
        changes["secret"] = None
    with _context(data_dir, database_url, org) as (settings, session, org_id):
        _vet(url, settings)
        _show(service.update_webhook(session, org_id, webhook_id, changes, settings))


@webhooks_app.command("disable")
def disable(
    webhook_id: WebhookId,
    reason: Annotated[str | None, typer.Option(help="Shown to admins")] = None,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Stop deliveries to a webhook (its pending deliveries fail, replayable later)."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        _show(service.disable_webhook(session, org_id, webhook_id, reason))


@webhooks_app.command("enable")
def enable(
    webhook_id: WebhookId,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Deliver new events to a webhook again."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        _show(service.enable_webhook(session, org_id, webhook_id))


@webhooks_app.command("delete")
def delete(
    webhook_id: WebhookId,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a webhook and its delivery log."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        service.delete_webhook(session, org_id, webhook_id)
        print(f"deleted: {webhook_id}")


@webhooks_app.command("deliveries")
def list_deliveries(
    webhook_id: WebhookId,
    status: Annotated[
        str | None, typer.Option(help="pending, delivering, succeeded, failed")
    ] = None,
    event_name: Annotated[str | None, typer.Option(help="Only this event")] = None,
    limit: Limit = 50,
    output: Output = OutputFormat.table,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The webhook's newest deliveries."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org, write=False) as (_s, session, org_id):
        page = service.list_deliveries(
            session,
            org_id,
            webhook_id=webhook_id,
            status=status,
            event_name=event_name,
            page_size=limit,
        )
        rows = [
            {
                "id": d.id,
                "event_name": d.event_name,
                "status": d.status,
                "attempts": d.attempts,
                "max_attempts": d.max_attempts,
                "last_status_code": d.last_status_code,
                "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
                "last_error": d.last_error,
                "created_at": d.created_at,
            }
            for d in page.items
        ]
        print_rows(rows, DELIVERY_COLUMNS, output)


DELIVERY_COLUMNS = [
    Column("id", "id", ident=True),
    Column("event_name", "event"),
    Column("status", "status"),
    Column("attempts", "attempts", show=lambda d: f"{d['attempts']}/{d['max_attempts']}"),
    Column("last_status_code", "code"),
    Column("next_attempt_at", "next attempt"),
    Column("last_error", "last error", show=lambda d: (d["last_error"] or "")[:60]),
]


@webhooks_app.command("attempts")
def list_attempts(
    webhook_id: WebhookId,
    delivery: Annotated[str | None, typer.Option(help="Only this delivery's attempts")] = None,
    limit: Limit = 50,
    output: Output = OutputFormat.table,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The webhook's newest attempts: status code, latency, response excerpt or error."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org, write=False) as (_s, session, org_id):
        if delivery:
            page = service.list_attempts(session, org_id, delivery_id=delivery, page_size=limit)
        else:
            page = service.list_attempts(session, org_id, webhook_id=webhook_id, page_size=limit)
        rows = [
            {
                "started_at": a.started_at,
                "delivery_id": a.delivery_id,
                "attempt": a.attempt,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "succeeded": a.succeeded,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
            }
            for a in page.items
        ]
        print_rows(rows, ATTEMPT_COLUMNS, output)


ATTEMPT_COLUMNS = [
    Column("started_at", "started"),
    Column("delivery_id", "delivery", ident=True),
    Column("attempt", "#"),
    Column("status_code", "code"),
    Column("latency_ms", "ms"),
    Column(
        "error", "response / error", show=lambda a: (a["error"] or a["response_excerpt"] or "")[:60]
    ),
]


@webhooks_app.command("redeliver")
def redeliver(
    delivery_id: Annotated[str, typer.Argument(help="Delivery id")],
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send a delivery again (a running worker picks it up)."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (settings, session, org_id):
        delivery = service.redeliver(session, org_id, delivery_id, settings)
        print(f"queued: {delivery.id}")


@webhooks_app.command("redeliver-failed")
def redeliver_failed(
    webhook_id: WebhookId,
    since: Annotated[datetime, typer.Option(help="Deliveries created since (UTC if no zone)")],
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send again every failed delivery of a webhook created since a time."""
    from cmpapi.server.webhooks import service

    aware = since if since.tzinfo else since.replace(tzinfo=UTC)
    with _context(data_dir, database_url, org) as (settings, session, org_id):
        print(f"queued: {service.redeliver_failed(session, org_id, webhook_id, aware, settings)}")


@webhooks_app.command("ping")
def ping(
    webhook_id: WebhookId,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue a test delivery (event name ``ping``); prints its delivery id."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        print(f"queued: {service.send_ping(session, org_id, webhook_id).id}")


@webhooks_app.command("tail")
def tail(
    webhook: Annotated[str | None, typer.Option(help="Only this webhook")] = None,
    once: Annotated[bool, typer.Option(help="Print the newest attempts and exit")] = False,
    limit: Limit = 20,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls")] = 1.0,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Follow delivery attempts as they happen (Ctrl-C stops): time, webhook, event,
    delivery, attempt, status code, latency, outcome."""
    from cmpapi.server.webhooks.service import recent_attempts

    with _context(data_dir, database_url, org, write=False) as (settings, session, org_id):
        rows = recent_attempts(session, org_id, webhook, limit=limit)
        seen = {attempt.id for attempt, *_ in rows}
        for row in reversed(rows):
            _line(*row)
        # An attempt is logged when it ends, with the time it started: look back as far
        # as the longest request can take, skipping what was shown.
        window = settings.webhook_timeout + 120
        try:
            while not once:
                time.sleep(interval)
                session.expire_all()
                since = datetime.now(UTC) - timedelta(seconds=window)
                fresh = [
                    r
                    for r in recent_attempts(session, org_id, webhook, since=since)
                    if r[0].id not in seen
                ]
                for row in reversed(fresh):
                    seen.add(row[0].id)
                    _line(*row)
        except KeyboardInterrupt:
            pass


def _line(attempt: Any, webhook_name: str, event_name: str) -> None:
    outcome = "ok" if attempt.succeeded else (attempt.error or "failed")
    code = attempt.status_code or "-"
    ms = "-" if attempt.latency_ms is None else f"{attempt.latency_ms}ms"
    when = f"{attempt.started_at:%Y-%m-%d %H:%M:%S}"
    print(
        f"{when} {webhook_name} {event_name} {attempt.delivery_id} #{attempt.attempt} "
        f"{code} {ms} {outcome[:80]}",
        flush=True,
    )


def register(app: typer.Typer) -> None:
    """Attach ``webhooks`` to the root CLI."""
    app.add_typer(webhooks_app, name="webhooks")
