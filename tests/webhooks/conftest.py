"""Fixtures for webhook tests: compressed timings, a real receiver, a worker in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.events.outbox import OutboxEvent, record_event
from cmpapi.server.identity.service import create_organization
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import service
from cmpapi.server.webhooks.tables import Delivery, DeliveryAttempt, Webhook
from tests.webhooks.receiver import Receiver

FAST = {
    "worker_embedded": False,
    "worker_poll_interval": 0.05,
    "worker_lease_seconds": 5,
    "worker_shutdown_timeout": 2,
    "worker_processes": 1,
    "webhook_allow_private_targets": True,
    "webhook_allow_http_loopback": True,
    "webhook_retry_schedule": "0.05,0.05,0.05",
    "webhook_timeout": 2,
    "webhook_poll_interval": 0.05,
    "webhook_lease_seconds": 5,
    "webhook_disable_after": 3600,
}


@pytest.fixture
def wh_settings(database_url: str, tmp_path: Path) -> Settings:
    """Receivers on 127.0.0.1 over http allowed; retries, polls and leases compressed."""
    return Settings(data_dir=tmp_path, database_url=database_url, **FAST)  # type: ignore[arg-type]


@pytest.fixture
def settings(wh_settings: Settings) -> Settings:
    """The app fixtures (``app``, ``client``, ``world``) use the webhook test settings."""
    return wh_settings


@pytest.fixture
def engine(wh_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(wh_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as s:
        yield s


@pytest.fixture
def org(session: Session) -> str:
    org = create_organization(session, "Hooks Inc")
    session.commit()
    return org.id


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


class WorkerThread:
    """A job worker (what `cmpapi worker` runs) on an event loop in a thread."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        self.kwargs = kwargs
        self.worker: Worker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.worker = Worker(self.settings, **self.kwargs)
        await self.worker.start()
        self._started.set()
        await self.worker._stop_requested.wait()
        await self.worker.stop()

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        assert self._started.wait(20), "worker did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self.worker is not None
        self._loop.call_soon_threadsafe(self.worker.request_stop)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "worker did not stop"


def add_webhook(session: Session, org: str, url: str, **kwargs: Any) -> Webhook:
    """A webhook for ``asset_added`` and ``asset_removed`` (tests' defaults)."""
    kwargs.setdefault("event_names", ["asset_added", "asset_removed"])
    kwargs.setdefault("name", "hook")
    settings = kwargs.pop("settings", Settings.model_construct(**FAST))
    return service.create_webhook(session, org, callback_url=url, settings=settings, **kwargs)


def record(session: Session, org: str, count: int = 1, name: str = "asset_added") -> list[str]:
    """Record ``count`` events in one transaction; returns their ids."""
    events = [
        record_event(session, name, {"asset": {"id": f"a{i}", "type": "image"}}, org_id=org)
        for i in range(count)
    ]
    session.commit()
    return [e.id for e in events]


def deliveries(engine: Engine, **where: Any) -> list[Delivery]:
    """Delivery rows, oldest first."""
    with make_sessionmaker(engine)() as s:
        stmt = select(Delivery).filter_by(**where).order_by(Delivery.created_at, Delivery.id)
        return list(s.scalars(stmt))


def count(engine: Engine, status: str) -> int:
    """How many deliveries have ``status`` (cheap enough to poll)."""
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(Delivery).where(Delivery.status == status)
        return int(conn.execute(stmt).scalar_one())


def attempts(engine: Engine, **where: Any) -> list[DeliveryAttempt]:
    """Attempt rows, oldest first."""
    with make_sessionmaker(engine)() as s:
        stmt = select(DeliveryAttempt).filter_by(**where).order_by(DeliveryAttempt.started_at)
        return list(s.scalars(stmt))


def dispatched(engine: Engine, event_id: str) -> bool:
    """Whether the outbox event has been fanned out."""
    with make_sessionmaker(engine)() as s:
        event = s.get(OutboxEvent, event_id)
        return event is not None and event.dispatched_at is not None


def webhook(engine: Engine, webhook_id: str) -> Webhook:
    """The webhook row as it is now."""
    with make_sessionmaker(engine)() as s:
        row = s.get(Webhook, webhook_id)
        assert row is not None
        return row
