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
from rich.console import Console
from rich.table import Table

from cmpapi.cli.local import DataDir, Org, fail, local_settings, resolve_org

webhooks_app = typer.Typer(help="Webhooks and their deliveries (docs/webhooks.md).",
                           no_args_is_help=True)  # fmt: skip
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: CMPAPI_DATABASE_URL)"),
]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show")]
WebhookId = Annotated[str, typer.Argument(help="Webhook id")]


@contextmanager
def _context(data_dir: Any, database_url: str | None, org: str | None) -> Iterator[Any]:
    """``(settings, session, org_id)`` on a migrated database; domain errors exit 1."""
    from cmpapi.server.db.engine import make_engine, make_sessionmaker
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.errors import DomainError

    settings = local_settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(settings)
    upgrade(engine)
    try:
        with make_sessionmaker(engine)() as session:
            try:
                yield settings, session, resolve_org(session, org)
            except DomainError as exc:
                raise fail(exc) from exc
    finally:
        engine.dispose()


def _vet(url: str | None, settings: Any) -> None:
    """Refuse a URL whose host resolves to a refused address (the DNS half of the check)."""
    from cmpapi.server.errors import Invalid
    from cmpapi.server.webhooks.ssrf import check_callback_url, check_resolves

    if url and check_callback_url(url, settings) is None:
        reason = asyncio.run(check_resolves(url, settings))
        if reason:
            raise Invalid("Invalid webhook", {"callback_url": reason})


def _show(webhook: Any) -> None:
    print(f"id: {webhook.id}\nname: {webhook.name}\ncallback_url: {webhook.callback_url}\n"
          f"event_names: {','.join(webhook.event_names)}\nis_active: {webhook.is_active}\n"
          f"signing_key: {webhook.signing_key}")  # fmt: skip
    if webhook.disabled_reason:
        print(f"disabled_reason: {webhook.disabled_reason}")


@webhooks_app.command("list")
def list_webhooks(
    org: Org = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List the organization's webhooks."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        page = service.list_webhooks(session, org_id, page_size=1000)
        table = Table("id", "name", "active", "callback url", "events", "failing since / reason")
        for w in page.items:
            health = w.disabled_reason or (w.failing_since.isoformat() if w.failing_since else "")
            table.add_row(w.id, w.name, "yes" if w.is_active else "no", w.callback_url,
                          ",".join(w.event_names), health)  # fmt: skip
        Console().print(table)


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
        _show(service.create_webhook(session, org_id, name=name, callback_url=url,
                                     event_names=event, secret=secret, description=description,
                                     settings=settings))  # fmt: skip


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

    changes: dict[str, Any] = {"name": name, "callback_url": url, "event_names": event,
                               "secret": secret, "description": description}  # fmt: skip
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
def enable(webhook_id: WebhookId, org: Org = None, data_dir: DataDir = None,
           database_url: DatabaseUrl = None) -> None:  # fmt: skip
    """Deliver new events to a webhook again."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        _show(service.enable_webhook(session, org_id, webhook_id))


@webhooks_app.command("delete")
def delete(webhook_id: WebhookId, org: Org = None, data_dir: DataDir = None,
           database_url: DatabaseUrl = None) -> None:  # fmt: skip
    """Delete a webhook and its delivery log."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        service.delete_webhook(session, org_id, webhook_id)
        print(f"deleted: {webhook_id}")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@webhooks_app.command("deliveries")
def list_deliveries(
    webhook_id: WebhookId,
    status: Annotated[
        str | None, typer.Option(help="pending, delivering, succeeded, failed")
    ] = None,
    event_name: Annotated[str | None, typer.Option(help="Only this event")] = None,
    limit: Limit = 50,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The webhook's newest deliveries."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        page = service.list_deliveries(session, org_id, webhook_id=webhook_id, status=status,
                                       event_name=event_name, page_size=limit)  # fmt: skip
        table = Table("id", "event", "status", "attempts", "code", "next attempt", "last error")
        for d in page.items:
            table.add_row(d.id, d.event_name, d.status, f"{d.attempts}/{d.max_attempts}",
                          str(d.last_status_code or ""),
                          _when(d.next_attempt_at) if d.status == "pending" else "",
                          (d.last_error or "")[:60])  # fmt: skip
        Console().print(table)


@webhooks_app.command("attempts")
def list_attempts(
    webhook_id: WebhookId,
    delivery: Annotated[str | None, typer.Option(help="Only this delivery's attempts")] = None,
    limit: Limit = 50,
    org: Org = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The webhook's newest attempts: status code, latency, response excerpt or error."""
    from cmpapi.server.webhooks import service

    with _context(data_dir, database_url, org) as (_s, session, org_id):
        if delivery:
            page = service.list_attempts(session, org_id, delivery_id=delivery, page_size=limit)
        else:
            page = service.list_attempts(session, org_id, webhook_id=webhook_id, page_size=limit)
        table = Table("started", "delivery", "#", "code", "ms", "response / error")
        for a in page.items:
            table.add_row(_when(a.started_at), a.delivery_id, str(a.attempt),
                          str(a.status_code or ""), str(a.latency_ms or ""),
                          (a.error or a.response_excerpt or "")[:60])  # fmt: skip
        Console().print(table)


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
def ping(webhook_id: WebhookId, org: Org = None, data_dir: DataDir = None,
         database_url: DatabaseUrl = None) -> None:  # fmt: skip
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

    with _context(data_dir, database_url, org) as (settings, session, org_id):
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
                fresh = [r for r in recent_attempts(session, org_id, webhook, since=since)
                         if r[0].id not in seen]  # fmt: skip
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
    print(f"{when} {webhook_name} {event_name} {attempt.delivery_id} #{attempt.attempt} "
          f"{code} {ms} {outcome[:80]}", flush=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Attach ``webhooks`` to the root CLI."""
    app.add_typer(webhooks_app, name="webhooks")
