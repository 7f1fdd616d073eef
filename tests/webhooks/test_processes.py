"""Real processes on one PostgreSQL: `cmpapi worker` killed with -9 mid-way loses no
delivery; two API servers and two workers deliver every event."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import OutboxEvent, record_event
from cmpapi.server.settings import Settings
from tests.support.env import child_env
from tests.support.servers import free_port
from tests.support.uploads import jpeg, upload
from tests.support.world import build_world
from tests.webhooks.conftest import add_webhook, count, deliveries
from tests.webhooks.receiver import Receiver, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.worker]

Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start(wh_settings: Settings, tmp_path: Path) -> Iterator[Start]:
    """Starts `cmpapi ...` processes on the test database; kills leftovers."""
    if wh_settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("several processes on one database: PostgreSQL")
    procs: list[subprocess.Popen[bytes]] = []
    env = child_env()
    env |= {
        "CMPAPI_DATABASE_URL": wh_settings.resolved_database_url,
        "CMPAPI_DATA_DIR": str(tmp_path),
        "CMPAPI_WORKER_EMBEDDED": "false",
        "CMPAPI_WORKER_LEASE_SECONDS": "1",
        "CMPAPI_WORKER_POLL_INTERVAL": "0.05",
        "CMPAPI_WORKER_SHUTDOWN_TIMEOUT": "5",
        "CMPAPI_WORKER_PROCESSES": "1",
        "CMPAPI_WEBHOOK_LEASE_SECONDS": "1",
        "CMPAPI_WEBHOOK_POLL_INTERVAL": "0.05",
        "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
    }

    def run(name: str, *argv: str, **extra_env: str) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cmpapi.cli.main", *argv],
                cwd=ROOT,
                env=env | extra_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        return proc

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def alive(proc: subprocess.Popen[bytes]) -> Callable[[Callable[[], bool]], Callable[[], bool]]:
    def check(condition: Callable[[], bool]) -> Callable[[], bool]:
        def wrapped() -> bool:
            assert proc.poll() is None, f"process exited with {proc.returncode}"
            return condition()

        return wrapped

    return check


def test_kill_9_mid_way_loses_no_delivery(
    start: Start, engine: Engine, session: Session, org: str
) -> None:
    with Receiver() as receiver:
        add_webhook(session, org, receiver.url())
        for chunk in range(4):
            for i in range(500):
                data = {"asset": {"id": f"a{chunk * 500 + i}", "type": "image"}}
                record_event(session, "asset_added", data, org_id=org)
            session.commit()
        first = start("first", "worker", "--concurrency", "4")
        wait_until(alive(first)(lambda: len(receiver.requests()) >= 600), 60, "600 deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        in_flight = count(engine, "delivering")

        second = start("second", "worker", "--concurrency", "4")
        done = alive(second)(lambda: count(engine, "succeeded") == 2000)
        wait_until(done, 120, "every delivery succeeded")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
        requests = receiver.requests()
    per_asset = Counter(json.loads(r.body)["data"]["asset"]["id"] for r in requests)
    assert set(per_asset) == {f"a{i}" for i in range(2000)}, "every event arrived"
    duplicates = len(requests) - len(per_asset)
    print(f"kill -9 with {in_flight} deliveries leased: {duplicates} duplicate deliveries")
    assert len({r.headers["webhook-id"] for r in requests}) == 2000


def test_two_api_servers_and_two_workers_deliver_every_event(
    start: Start, engine: Engine, session: Session
) -> None:
    world = build_world(session)
    with Receiver() as receiver:
        add_webhook(
            session, world.org.id, receiver.url(), event_names=["asset_added", "asset_modified"]
        )
        ports = [free_port(), free_port()]
        apis = [start(f"api{i}", "serve", "--port", str(p)) for i, p in enumerate(ports)]
        workers = [start(f"worker{i}", "worker", "--concurrency", "4") for i in range(2)]
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in ports]
        for client, api in zip(clients, apis, strict=True):
            wait_until(alive(api)(lambda c=client: _healthy(c)), 60, "API up")
        for n, client in enumerate(clients):
            key = upload(client, world, jpeg(), f"photo{n}.jpg")
            r = client.post("/v3/assets", json={"key": key, "title": f"t{n}"}, headers=world.auth())
            assert r.status_code == 201, r.text
            asset_id = r.json()["id"]
            for i in range(5):  # every PATCH records asset_modified, through both APIs
                r = clients[(n + i) % 2].patch(
                    f"/v3/images/{asset_id}", json={"title": f"t{n}-{i}"}, headers=world.auth()
                )
                assert r.status_code == 200, r.text
        events = session.scalars(select(OutboxEvent.id)).all()
        assert len(events) == 12
        check = alive(workers[0])(
            alive(workers[1])(lambda: count(engine, "succeeded") == len(events))
        )
        wait_until(check, 60, "every event delivered")
        for client in clients:
            client.close()
        for proc in [*workers, *apis]:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=30) for proc in workers] == [0, 0]
        # uvicorn re-raises the signal it stopped on once shut down
        assert all(proc.wait(timeout=30) in (0, -signal.SIGTERM) for proc in apis)
        received = {r.headers["webhook-id"] for r in receiver.requests()}
    assert {d.event_id for d in deliveries(engine)} == set(events)
    assert {d.id for d in deliveries(engine)} <= received


def test_the_worker_embedded_in_serve_delivers(
    start: Start, engine: Engine, session: Session, org: str
) -> None:
    """`cmpapi serve` runs its worker on the server's event loop, in the server process,
    woken by PostgreSQL NOTIFY for events recorded elsewhere."""
    with Receiver() as receiver:
        add_webhook(session, org, receiver.url())
        port = free_port()
        api = start("api", "serve", "--port", str(port), CMPAPI_WORKER_EMBEDDED="true")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(alive(api)(lambda: _healthy(client)), 60, "API up")
        for i in range(20):
            record_event(session, "asset_added", {"asset": {"id": f"a{i}"}}, org_id=org)
        session.commit()
        wait_until(alive(api)(lambda: count(engine, "succeeded") == 20), 30, "delivered")
        api.send_signal(signal.SIGTERM)
        assert api.wait(timeout=30) in (0, -signal.SIGTERM)
        assert len({r.headers["webhook-id"] for r in receiver.requests()}) == 20


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        time.sleep(0.1)
        return False
