"""`cmpapi serve --workers 2`: two API processes answer on one port, one job-worker process
(started again when it dies) delivers each webhook once, and a stop leaves no process.

Processes are read from /proc (Linux): a process's children, its environment, and which
process holds each accepted connection of the server's port.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from cmpapi.server import demo
from cmpapi.server.webhooks.tables import DELIVERIES, DELIVERING, PENDING
from tests.support.env import child_env
from tests.support.servers import free_port
from tests.webhooks.receiver import Receiver, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

START_TIMEOUT = 120  # seconds: three interpreters import the app on a shared 2-core box


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid``: their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def roles(pid: int) -> tuple[list[int], list[int]]:
    """(API processes, job-worker processes) among the children of ``serve``."""
    kids = children(pid)
    api = sorted(p for p, cmd in kids.items() if "multiprocessing.spawn" in cmd)
    workers = sorted(p for p, cmd in kids.items() if "cmpapi.cli.main worker" in cmd)
    return api, workers


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def connection_owners(port: int, pids: list[int], state: str = "01") -> dict[int, int]:
    """How many sockets of ``port`` in ``state`` (01: established connections, 0A:
    listening) each of ``pids`` holds."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _remote, st, *rest = line.split()[1:]
        if int(local.split(":")[1], 16) == port and st == state:
            inodes.add(rest[5])  # the socket's inode
    owners = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        links = {os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()}
        owners[pid] = sum(f"socket:[{inode}]" in links for inode in inodes)
    return owners


def listening(server: Served) -> bool:
    """Both API processes listen on the port (each on a socket of its own: until the
    second one listens, the kernel hands every connection to the first)."""
    api, _ = roles(server.proc.pid)
    return len(api) == 2 and all(connection_owners(server.port, api, "0A").values())


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """`cmpapi serve --workers 2 --demo` on the test database, in a process group of its own
    (a terminal's Ctrl-C signals the whole group); killed with its group if still there."""
    port = free_port()
    env = child_env()
    env |= {
        "CMPAPI_DATABASE_URL": database_url,
        "CMPAPI_WORKER_POLL_INTERVAL": "0.05",
        "CMPAPI_WORKER_PROCESSES": "1",
        "CMPAPI_WORKER_SHUTDOWN_TIMEOUT": "5",
        "CMPAPI_WORKER_LEASE_SECONDS": "5",
        "CMPAPI_WEBHOOK_LEASE_SECONDS": "5",
        "CMPAPI_WEBHOOK_POLL_INTERVAL": "0.05",
        "CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--workers", "2", "--demo"]
    argv += ["--port", str(port), "--data-dir", str(tmp_path / "data")]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )
    server = Served(proc, port, log)

    def healthy() -> bool:
        assert proc.poll() is None, server.output()
        try:
            return httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)
            return False

    try:
        wait_until(healthy, START_TIMEOUT, "server up")
        wait_until(lambda: listening(server), START_TIMEOUT, "both API processes listening")
        yield server
    finally:
        if proc.poll() is None:  # the job worker has a process group of its own
            leftovers = children(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=10)


def token(base: str) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": demo.CLIENT_ID,
        "client_secret": demo.CLIENT_SECRET,
    }
    r = httpx.post(f"{base}/o/oauth2/v1/token", data=form, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def spread_over(server: Served, api: list[int], auth: dict[str, str]) -> dict[int, int]:
    """Open connections one after another, each answering a request and then held open,
    until every API process holds some (the kernel hands each to one process's accept)."""
    held: list[http.client.HTTPConnection] = []
    try:
        owners: dict[int, int] = {}
        for _ in range(60):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            held.append(conn)
            conn.request("GET", "/v3/userlist?page_size=1", headers=auth)
            response = conn.getresponse()
            assert response.status == 200, response.read()
            response.read()
            owners = connection_owners(server.port, api)
            if len(held) >= 4 and all(owners.values()):
                break
        return owners
    finally:
        for conn in held:
            conn.close()


def campaigns_added(receiver: Receiver) -> list[str]:
    bodies = [json.loads(r.body) for r in receiver.requests()]
    return [b["data"]["campaign"]["id"] for b in bodies if b["event_name"] == "campaign_added"]


def unfinished(database_url: str) -> int:
    """Deliveries not yet recorded as succeeded or failed."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).where(DELIVERIES.c.status.in_((PENDING, DELIVERING)))
            return int(conn.execute(stmt).scalar_one())
    finally:
        engine.dispose()


def create_campaigns(base: str, auth: dict[str, str], titles: list[str]) -> set[str]:
    ids = set()
    for title in titles:  # a new connection each: they land on either API process
        r = httpx.post(f"{base}/v3/campaigns", json={"title": title}, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        ids.add(r.json()["id"])
    return ids


def test_two_api_processes_one_job_worker(served: Served, database_url: str) -> None:
    api, workers = roles(served.proc.pid)
    assert len(api) == 2, children(served.proc.pid)
    assert len(workers) == 1, children(served.proc.pid)
    for pid in api:  # the job worker runs in one place only
        assert environment(pid)["CMPAPI_WORKER_EMBEDDED"] == "false"
    auth = {"Authorization": f"Bearer {token(served.base)}"}

    owners = spread_over(served, api, auth)
    assert all(owners.values()), f"connections per API process: {owners}"

    with Receiver() as receiver:
        hook = {
            "name": "campaigns",
            "callback_url": receiver.url(),
            "event_names": ["campaign_added"],
        }
        r = httpx.post(f"{served.base}/ext/v1/webhooks", json=hook, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        made = create_campaigns(served.base, auth, [f"c{i}" for i in range(8)])
        wait_until(lambda: set(campaigns_added(receiver)) >= made, 60, "campaign_added")

        # A job worker that dies is replaced; deliveries go on. (Killed once its results
        # are written: a delivery sent but not yet recorded would be sent again.)
        wait_until(lambda: unfinished(database_url) == 0, 30, "results recorded")
        os.kill(workers[0], signal.SIGKILL)
        wait_until(lambda: roles(served.proc.pid)[1] not in ([], workers), 30, "new worker")
        made |= create_campaigns(served.base, auth, ["after"])
        wait_until(lambda: set(campaigns_added(receiver)) >= made, 60, "after the restart")
        api, workers = roles(served.proc.pid)
        assert len(workers) == 1

        # Both ways a server is stopped, one per backend: a terminal's Ctrl-C (SIGINT to
        # the foreground process group) and a process manager's SIGTERM to serve alone.
        if database_url.startswith("sqlite"):
            os.killpg(served.proc.pid, signal.SIGINT)
        else:
            served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=60) == 0, served.output()
        delivered = campaigns_added(receiver)
    # (The demo's own campaigns may reach the webhook too: its events were recorded before
    # the webhook, and are delivered to it if the worker had not fanned them out yet.)
    ours = [c for c in delivered if c in made]
    assert sorted(ours) == sorted(made), "each event delivered exactly once"
    for pid in [*api, *workers]:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} outlived serve"
    assert "Traceback" not in served.output()
    assert re.search(r"job worker \S+ stopped", served.output()), "the job worker drained"


def test_a_port_in_use_stops_serve_before_any_process_starts(tmp_path: Path) -> None:
    """The API processes listen on sockets of their own (SO_REUSEPORT): a port another server
    listens on must still refuse ``serve --workers``, not be shared with it silently."""
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--workers", "2"]
        argv += ["--port", str(port)]
        env = child_env(CMPAPI_DATA_DIR=str(tmp_path / "data"))
        done = subprocess.run(argv, env=env, capture_output=True, timeout=START_TIMEOUT)
    assert done.returncode == 3, done.stderr.decode()
    assert b"Address already in use" in done.stderr
    assert b"job worker" not in done.stderr  # nothing was started
