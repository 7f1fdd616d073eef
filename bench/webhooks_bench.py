"""Webhook delivery benchmark: throughput and event-to-delivery latency, one worker.

    .venv/bin/python bench/webhooks_bench.py                       # SQLite in a temp dir
    .venv/bin/python bench/webhooks_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench_webhooks
    .venv/bin/python bench/webhooks_bench.py --events 5000 --webhooks 4 --rate 200 --duration 10

1. Throughput: ``--events`` events are recorded (one transaction) for ``--webhooks``
   webhooks of one organization that all point at one local receiver answering 200 at
   once (a separate process: raw asyncio HTTP/1.1); one job worker (``Worker``, as
   ``cmpapi worker`` runs it) is started, and the time until every delivery succeeded gives
   deliveries/s.
2. Latency: a producer records events one transaction at a time at ``--rate`` events/s for
   ``--duration`` seconds, for ``--latency-webhooks`` webhooks of another organization
   (``--producer thread``: in the worker's process, like ``cmpapi serve``; ``process``:
   another process, like separate API servers); the receiver measures arrival time minus
   the time written into each event; p50/p99 are printed.

The PostgreSQL database must exist; the webhook tables, outbox and jobs are emptied first.
Not part of the test suite. Figures measured on the 2-core box: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.db.migrate import upgrade
from cmpapi.server.events.outbox import OutboxEvent, record_event
from cmpapi.server.identity.service import create_organization
from cmpapi.server.jobs.tables import JOBS
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import service
from cmpapi.server.webhooks.tables import ATTEMPTS, DELIVERIES, WEBHOOKS

# -- the receiver (its own process) ---------------------------------------------------

RECEIVER = r"""
import asyncio, json, sys, time
lat = []
count = 0
async def handle(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
            body = await reader.readexactly(n) if n else b""
            if head.startswith(b"GET /stats"):
                out = json.dumps(lat).encode()
                lat.clear()
            elif head.startswith(b"GET /count"):
                out = b"%d" % count
            else:
                count += 1
                sent = json.loads(body)["data"].get("sent_at")
                if sent:
                    lat.append((sent, time.time() - sent))
                out = b"ok"
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(out) + out)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


WARM_UP = 1.0  # seconds of events left out of the latency figures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("receiver did not start")


def latencies(port: int) -> list[tuple[float, float]]:
    """(sent at, latency) of the deliveries the receiver got since the last call."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as r:
        return [(sent, lat) for sent, lat in json.loads(r.read())]


# -- setup ----------------------------------------------------------------------------


def prepare(settings: Settings) -> Engine:
    engine = make_engine(settings)
    upgrade(engine)
    with engine.begin() as conn:
        for table in (ATTEMPTS, DELIVERIES, WEBHOOKS, OutboxEvent.__table__, JOBS):
            conn.execute(delete(table))
    return engine


def organization(engine: Engine, settings: Settings, webhooks: int, port: int) -> str:
    """A new organization with ``webhooks`` webhooks for asset_added, all to the receiver."""
    with make_sessionmaker(engine)() as session:
        org = create_organization(session, f"bench {time.time()}")
        for i in range(webhooks):
            service.create_webhook(
                session,
                org.id,
                name=f"bench {i}",
                callback_url=f"http://127.0.0.1:{port}/hook/{i}",
                event_names=["asset_added"],
                settings=settings,
            )
        session.commit()
        return org.id


def received(port: int) -> int:
    """Requests the receiver got so far (not counting the stats ones)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as r:
        return int(r.read())


def count_succeeded(engine: Engine) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).where(DELIVERIES.c.status == "succeeded")
        return int(conn.execute(stmt).scalar_one())


# -- 1. throughput ----------------------------------------------------------------------


async def throughput(
    settings: Settings, engine: Engine, org: str, events: int, hooks: int, port: int
) -> tuple[float, float]:
    """Deliveries per second, and the worker process's CPU seconds per delivery."""
    with make_sessionmaker(engine)() as session:
        for i in range(events):
            record_event(session, "asset_added", {"asset": {"id": f"a{i}"}}, org_id=org)
        session.commit()
    want = events * hooks + await asyncio.to_thread(received, port)
    worker = Worker(settings)
    started, cpu = time.perf_counter(), time.process_time()
    await worker.start()
    # The receiver counts cheaply; counting rows every 50 ms would cost the database
    # more CPU than some of the engine's own statements.
    while await asyncio.to_thread(received, port) < want:
        await asyncio.sleep(0.05)
    while await asyncio.to_thread(count_succeeded, engine) < events * hooks:
        await asyncio.sleep(0.01)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await worker.stop()
    return want / elapsed, cpu / want


async def reference(port: int, total: int, connections: int) -> float:
    """The reference: the same number of POSTs to the same receiver over as many kept-alive
    connections as the worker may use, with nothing else to do (no database, no signature,
    no bookkeeping): the ceiling of this box and event loop."""
    body = json.dumps({"event_name": "asset_added", "data": {"asset": {"id": "a0"}}}).encode()
    request = (
        b"POST /hook/0 HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json"
        b"\r\ncontent-length: %d\r\n\r\n%s" % (port, len(body), body)
    )

    async def client(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(head.lower().split(b"content-length:")[1].split()[0]))
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(total // connections) for _ in range(connections)))
    return total // connections * connections / (time.perf_counter() - started)


# -- 2. latency -----------------------------------------------------------------------


def produce(url: str, data_dir: str, org: str, rate: float, duration: float) -> int:
    """Record one event per transaction at ``rate`` per second; returns how many."""
    settings = Settings(data_dir=Path(data_dir), database_url=url, worker_embedded=False)
    engine = make_engine(settings)
    maker = make_sessionmaker(engine)
    start, sent = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < duration:
        if sent < elapsed * rate:
            with maker() as session:
                data = {"asset": {"id": f"l{sent}"}, "sent_at": time.time()}
                record_event(session, "asset_added", data, org_id=org)
                session.commit()
            sent += 1
        else:
            time.sleep(min(0.001, 1 / rate))
    engine.dispose()
    return sent


async def latency(
    settings: Settings, org: str, args: argparse.Namespace, port: int
) -> tuple[int, list[float]]:
    worker = Worker(settings)
    await worker.start()
    url = settings.resolved_database_url
    # Several producers: one commit at a time (an fsync each on PostgreSQL) cannot reach
    # 200 transactions/s on the 2-core box.
    call = (url, str(settings.data_dir), org, args.rate / args.producers, args.duration)
    if args.producer == "thread":
        runs = [asyncio.to_thread(produce, *call) for _ in range(args.producers)]
        sent = sum(await asyncio.gather(*runs))
    else:
        with multiprocessing.get_context("spawn").Pool(args.producers) as pool:
            results = pool.starmap_async(produce, [call] * args.producers)
            sent = sum(await asyncio.to_thread(results.get))
    want = sent * args.latency_webhooks
    received: list[tuple[float, float]] = []
    for _ in range(100):  # the last deliveries
        received += latencies(port)
        if len(received) >= want:
            break
        await asyncio.sleep(0.1)
    await worker.stop()
    # The first second is the warm-up: producers starting, the first dispatch job waiting
    # for the worker's poll. Steady state is what is measured.
    start = min(sent_at for sent_at, _ in received)
    return sent, [lat for sent_at, lat in received if sent_at >= start + WARM_UP]


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--webhooks", type=int, default=4, help="webhooks (throughput)")
    parser.add_argument("--latency-webhooks", type=int, default=1)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--producer", choices=("thread", "process"), default="thread")
    parser.add_argument("--producers", type=int, default=4, help="concurrent producers")
    parser.add_argument("--skip", choices=("throughput", "latency"))
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    proc, port = start_receiver()
    try:
        settings = Settings(
            data_dir=data_dir,
            database_url=args.database_url,
            worker_embedded=False,
            webhook_allow_private_targets=True,
            webhook_allow_http_loopback=True,
            worker_processes=1,
        )
        engine = prepare(settings)
        backend = engine.dialect.name
        if args.skip != "throughput":
            org = organization(engine, settings, args.webhooks, port)
            rate, cpu = asyncio.run(
                throughput(settings, engine, org, args.events, args.webhooks, port)
            )
            connections = args.webhooks * settings.webhook_concurrency_per_webhook
            ceiling = asyncio.run(reference(port, args.events * args.webhooks, connections))
            print(
                f"{backend}: {rate:,.0f} deliveries/s ({args.events} events x "
                f"{args.webhooks} webhooks, one worker, {cpu * 1000:.2f} ms of its CPU "
                f"each); reference (bare POSTs over {connections} connections) "
                f"{ceiling:,.0f}/s; ratio {rate / ceiling:.2f}",
                flush=True,
            )
            latencies(port)  # reset
        if args.skip != "latency":
            org = organization(engine, settings, args.latency_webhooks, port)
            sent, lat = asyncio.run(latency(settings, org, args, port))
            print(
                f"{backend}: event-to-delivery latency at {args.rate:g} events/s "
                f"({args.producer} producer, {sent} events x {args.latency_webhooks} webhook(s), "
                f"{len(lat)} deliveries): p50 {pct(lat, 50) * 1000:.1f} ms, "
                f"p99 {pct(lat, 99) * 1000:.1f} ms",
                flush=True,
            )
        engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
