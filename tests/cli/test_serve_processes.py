"""The production shape of docs/deploying.md, on one machine: PostgreSQL, an S3 API
(moto's server), `cmpapi serve --workers 2 --no-embedded-worker` and one `cmpapi worker`
beside it. Mixed traffic from several clients at once (creates, uploads straight to the
bucket, lists, updates) reaches both API processes without one error, and every event
of a registered webhook reaches a real receiver exactly once.

Which API process answered a request is read from /proc: the server side of the
request's own connection (its client port) and the process holding that socket.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, func, select

from cmpapi.server import demo
from cmpapi.server.webhooks.tables import DELIVERIES, SUCCEEDED
from tests.cli.test_serve_workers import children, roles
from tests.conftest import empty_postgres
from tests.storage.conftest import S3_KEY, S3_SECRET, s3_client
from tests.support.env import child_env
from tests.support.servers import free_port
from tests.webhooks.receiver import Receiver, wait_until

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "cmpapi-processes"
EVENTS = ["campaign_added", "task_added", "asset_added"]
CLIENTS, ROUNDS = 4, 4  # concurrent clients, rounds of traffic each
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc"),
]


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    yield endpoint
    server.stop()


@dataclass
class Deployment:
    base: str
    port: int
    serve: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    logs: list[Path]

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)


@pytest.fixture
def deployment(pg_database: str, moto_endpoint: str, tmp_path: Path) -> Iterator[Deployment]:
    """The recipe's processes, sharing one database, one bucket and one environment."""
    empty_postgres(pg_database)
    port = free_port()
    env = child_env(
        CMPAPI_DATABASE_URL=pg_database,
        CMPAPI_DATA_DIR=str(tmp_path / "data"),
        CMPAPI_STORAGE_BACKEND="s3",
        CMPAPI_S3_BUCKET=BUCKET,
        CMPAPI_S3_ENDPOINT_URL=moto_endpoint,
        CMPAPI_S3_ACCESS_KEY_ID=S3_KEY,
        CMPAPI_S3_SECRET_ACCESS_KEY=S3_SECRET,
        CMPAPI_WORKER_POLL_INTERVAL="0.05",
        CMPAPI_WEBHOOK_POLL_INTERVAL="0.05",
        # The receiver is on this machine. Every process reads the same environment: the
        # worker, which delivers, is not in `serve --demo`'s demo mode.
        CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK="true",
    )
    serve_argv = ["serve", "--demo", "--workers", "2", "--no-embedded-worker", "--port", str(port)]
    procs, logs = [], []
    for name, argv in (("serve", serve_argv), ("worker", ["worker"])):
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cmpapi.cli.main", *argv],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                )
            )
        logs.append(log)
    found = Deployment(f"http://127.0.0.1:{port}", port, procs[0], procs[1], logs)
    try:
        wait_until(lambda: _ready(found), 120, "serve --workers 2 ready")
        yield found
    finally:
        _stop(procs)


def _ready(d: Deployment) -> bool:
    """/readyz answers 200: the database at head and the bucket reachable."""
    for proc in (d.serve, d.worker):
        assert proc.poll() is None, d.output()
    try:
        return httpx.get(f"{d.base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            leftovers = children(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)


def answering_process(port: int, response: httpx.Response, candidates: list[int]) -> int | None:
    """The process among ``candidates`` holding the server side of ``response``'s
    connection (still open: the client keeps it alive)."""
    sock = response.extensions["network_stream"].get_extra_info("socket")
    client_port = sock.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, *rest = line.split()[1:]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            inode = rest[6]  # after st, tx:rx, tr:tm, retrnsmt, uid, timeout
    for pid in candidates:
        links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir() if fd.is_symlink()}
        if f"socket:[{inode}]" in links:
            return pid
    return None


@dataclass
class Traffic:
    """What the clients did: the ids their creates made, who answered, what failed."""

    made: set[str] = field(default_factory=set)
    answered_by: Counter[int | None] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_rounds(
    d: Deployment, auth: dict[str, str], api: list[int], out: Traffic, n: int
) -> None:
    """One client: rounds of creates, an upload to the bucket, lists and updates, each
    round on a new connection (so the kernel hands them to either process)."""
    try:
        for r in range(ROUNDS):
            with httpx.Client(base_url=d.base, headers=auth, timeout=30) as http:
                made, who = one_round(http, f"c{n}r{r}")
                pid = answering_process(d.port, who, api)
            with out.lock:
                out.made |= made
                out.answered_by[pid] += 1
    except Exception as exc:  # reported by the test
        with out.lock:
            out.errors.append(repr(exc))


def one_round(http: httpx.Client, name: str) -> tuple[set[str], httpx.Response]:
    def ok(r: httpx.Response, status: int = 200) -> dict[str, object]:
        assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.text}"
        return dict(r.json()) if r.content else {}

    campaign = ok(http.post("/v3/campaigns", json={"title": f"campaign {name}"}), 201)
    task = ok(http.post("/v3/tasks", json={"title": f"task {name}"}), 201)
    form = ok(http.get("/v3/upload-url"))
    fields = dict(form["upload_meta_fields"])  # type: ignore[call-overload]
    upload = httpx.post(str(form["url"]), data=fields, files={"file": ("f.bin", os.urandom(4096))})
    assert upload.status_code == 204, upload.text
    asset = ok(http.post("/v3/assets", json={"key": fields["key"], "title": f"file {name}"}), 201)
    ok(http.patch(f"/v3/tasks/{task['id']}", json={"title": f"task {name} (edited)"}))
    ok(http.patch(f"/v3/raw-files/{asset['id']}", json={"title": f"file {name} (edited)"}))
    ok(http.patch(f"/v3/campaigns/{campaign['id']}", json={"title": f"campaign {name} v2"}), 204)
    ok(http.get("/v3/assets", params={"page_size": 20}))
    ok(http.get("/v3/tasks", params={"page_size": 20, "search_key": name}))
    last = http.get("/v3/campaigns", params={"page_size": 20})
    ok(last)
    return {str(campaign["id"]), str(task["id"]), str(asset["id"])}, last


def delivered_ids(receiver: Receiver) -> list[str]:
    out = []
    for request in receiver.requests():
        body = json.loads(request.body)
        if body["event_name"] in EVENTS:
            out.append(body["data"][body["event_name"].split("_")[0]]["id"])
    return out


def test_two_api_processes_and_a_worker_on_postgresql_and_s3(
    deployment: Deployment, pg_database: str
) -> None:
    api, embedded = roles(deployment.serve.pid)
    assert len(api) == 2 and embedded == [], children(deployment.serve.pid)
    form = {
        "grant_type": "client_credentials",
        "client_id": demo.CLIENT_ID,
        "client_secret": demo.CLIENT_SECRET,
    }
    token = httpx.post(f"{deployment.base}/o/oauth2/v1/token", data=form, timeout=30).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    traffic = Traffic()
    with Receiver() as receiver:
        hook = {"name": "everything", "callback_url": receiver.url(), "event_names": EVENTS}
        r = httpx.post(f"{deployment.base}/ext/v1/webhooks", json=hook, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        clients = [
            threading.Thread(target=client_rounds, args=(deployment, auth, api, traffic, n))
            for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(120)
        assert traffic.errors == []
        assert len(traffic.made) == 3 * CLIENTS * ROUNDS
        # Every event delivered once (the demo's own, recorded before the webhook, may come
        # too if the worker had not fanned them out yet: they are not counted).
        wait_until(lambda: set(delivered_ids(receiver)) >= traffic.made, 60, "deliveries")
        ours = [i for i in delivered_ids(receiver) if i in traffic.made]
    assert sorted(ours) == sorted(traffic.made), "each event delivered exactly once"
    assert set(traffic.answered_by) == set(api), f"answered by {dict(traffic.answered_by)}"
    engine = create_engine(pg_database)
    try:
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(
                    select(DELIVERIES.c.status, func.count()).group_by(DELIVERIES.c.status)
                ).all()
            )
    finally:
        engine.dispose()
    assert set(statuses) == {SUCCEEDED}, statuses
    assert "Traceback" not in deployment.output()
