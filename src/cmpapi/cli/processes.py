"""``cmpapi serve --workers N``: N API processes sharing one port, and the job worker in a
process of its own beside them.

uvicorn's multiprocess supervisor spawns N children and keeps them alive; each child builds
its app with ``api_app`` (the server's ``create_app``) from the ``CMPAPI_*`` environment,
which this module completes with the options given to ``serve``. Each child listens on a
socket of its own on the shared port (``SO_REUSEPORT``, see ``SpreadSocket``), so the
kernel spreads new connections over the processes evenly. ``serve`` has applied the migrations and
seeded the demo data before, once, so the children never race at it.

Metrics: every process started here (the API processes and the job worker) writes its
Prometheus samples to one directory (``PROMETHEUS_MULTIPROC_DIR``, prometheus-client's
multiprocess mode), so a scrape of ``/metrics`` on the shared port, whichever process
answers it, covers them all (docs/operations.md#several-processes).

The job worker must run in exactly one place: the API processes run with
``CMPAPI_WORKER_EMBEDDED=false``, and this process runs one ``cmpapi worker`` process
(when the setting is on), starts another if it dies, and stops it after the API processes.
"""

from __future__ import annotations

import atexit
import logging
import logging.config
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

APP_FACTORY = "cmpapi.cli.processes:api_app"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# uvicorn's log configuration names this logger; the supervisor's lines look like its own.
log = logging.getLogger("uvicorn.error")

WATCH_EVERY = 0.5  # seconds between looks at the job worker process
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # after a 1st, 2nd, ... quick death in a row
STEADY = 60.0  # seconds a job worker must live for its death not to count as a crash loop
STOP_MARGIN = 10.0  # seconds past the worker's own shutdown timeout before SIGKILL


def children_environment(settings: Any) -> dict[str, str]:
    """The settings ``serve`` may take from its options, as ``CMPAPI_*`` variables: the
    children read only the environment."""
    env = {
        "CMPAPI_DATA_DIR": str(settings.data_dir),
        "CMPAPI_HOST": settings.host,
        "CMPAPI_PORT": str(settings.port),
        "CMPAPI_DEMO": "true" if settings.demo else "false",
    }
    if settings.database_url:  # serve --database-url
        env["CMPAPI_DATABASE_URL"] = settings.database_url
    if settings.access_log is not None:  # serve --access-log
        env["CMPAPI_ACCESS_LOG"] = "true" if settings.access_log else "false"
    return env


def run(settings: Any, uvicorn_options: dict[str, Any]) -> None:
    """Serve with ``settings.workers`` API processes until SIGTERM or SIGINT, then stop the
    job worker (after the API processes: their last requests may have queued jobs)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    logging.config.dictConfig(uvicorn_options["log_config"])
    config = uvicorn.Config(APP_FACTORY, factory=True, workers=settings.workers, **uvicorn_options)
    sock = SpreadSocket.bind_port(config.host, config.port)  # before any process starts
    # The line uvicorn.run logs.
    log.info(
        "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)",
        "https" if config.is_ssl else "http",
        config.host,
        sock.getsockname()[1],
    )
    shared = children_environment(settings)
    metrics_dir, made = metrics_directory()
    shared[MULTIPROC_ENV] = str(metrics_dir)
    job_worker = None
    if settings.worker_embedded:
        job_worker = JobWorkerProcess(os.environ | shared, settings.worker_shutdown_timeout)
    # uvicorn spawns its children with this process's environment.
    os.environ.update(shared | {"CMPAPI_WORKER_EMBEDDED": "false"})
    try:
        if job_worker is not None:
            job_worker.start()
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if job_worker is not None:
            job_worker.stop()
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)


class SpreadSocket(socket.socket):
    """The port of ``serve --workers``, from which each API process gets a listening socket
    of its own on the same address (``SO_REUSEPORT``): the kernel spreads new connections
    over them evenly. With one socket shared (uvicorn's way), the process that woke first
    took a whole burst of connections, asyncio accepting up to its backlog per wake-up:
    wrk's 32 keep-alive connections all went to one process, and two processes served no
    more than one (bench/README.md, scale-out).

    This socket, the parent's, is bound and never listens: it holds the port (a second
    server on it fails to start) and receives no connection. What a child process gets
    through multiprocessing's pickling is a new socket bound to the same address."""

    @classmethod
    def bind_port(cls, host: str, port: int) -> SpreadSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            # A socket already listening on the port is found by a bind without
            # SO_REUSEPORT; with it, two servers could share the port without a word.
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
                if port == 0:
                    port = probe.getsockname()[1]
            sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            _reuse_port(sock)
            sock.bind((host, port))
        except OSError as exc:
            log.error(exc)
            sys.exit(3)  # uvicorn's STARTUP_FAILURE
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        return _listener, (self.family, self.getsockname())


def _listener(family: int, address: Any) -> socket.socket:
    """A child process's own socket on the port (see ``SpreadSocket``)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _reuse_port(sock)
    sock.bind(address)
    return sock


def _reuse_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def metrics_directory() -> tuple[Path, bool]:
    """The shared metrics directory: ``PROMETHEUS_MULTIPROC_DIR`` if set, emptied of the
    samples of an earlier run (prometheus-client requires it), else a new temporary one
    (the second value: whether it was made here, and is removed at the end)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        return path, False
    return Path(tempfile.mkdtemp(prefix="cmpapi-metrics-")), True


def api_app() -> Any:
    """The app of one API process (uvicorn's factory): ``create_app`` with the settings of
    the environment. The process stops gracefully if serve is killed (SIGKILL leaves it no
    chance to stop its children), instead of serving on unsupervised."""
    from cmpapi.cli.startup import startup_objects

    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_stop_after, args=(parent,), daemon=True).start()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        # Its gauges (database pool use) stop counting once it is gone.
        atexit.register(multiprocess.mark_process_dead, os.getpid())
    with startup_objects():
        from cmpapi.server.app import create_app

        return create_app()


def _stop_after(parent: Any) -> None:
    parent.join()  # returns when the parent is gone (its sentinel pipe closes)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown


class JobWorkerProcess:
    """One ``cmpapi worker`` process: started, started again when it dies (waiting longer
    after each quick death), stopped with one SIGTERM (it drains its jobs) and SIGKILL if it
    is still there after its shutdown timeout."""

    def __init__(self, env: dict[str, str], shutdown_timeout: float) -> None:
        self._env = env
        self._grace = shutdown_timeout + STOP_MARGIN
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="job worker", daemon=True)

    def start(self) -> None:
        """Start the process and the thread that watches it."""
        with self._lock:
            self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # A process group of its own: Ctrl-C in a terminal signals the whole foreground
        # group, and a second signal makes `cmpapi worker` exit without draining; the worker
        # gets exactly one, from stop().
        argv = [sys.executable, "-m", "cmpapi.cli.main", "worker", "--parent-pid", str(os.getpid())]
        self._proc = subprocess.Popen(argv, env=self._env, process_group=0)  # noqa: S603 - our argv
        self._started = time.monotonic()
        log.info("Started job worker process [%d]", self._proc.pid)

    def _watch(self) -> None:
        quick_deaths = 0
        while not self._stopping.wait(WATCH_EVERY):
            with self._lock:
                proc, lived = self._proc, time.monotonic() - self._started
            if proc is None or (code := proc.poll()) is None:
                continue
            quick_deaths = 0 if lived >= STEADY else quick_deaths + 1
            delay = RESTART_DELAYS[min(max(quick_deaths - 1, 0), len(RESTART_DELAYS) - 1)]
            log.error(
                "Job worker process [%d] exited with %s; starting another in %.0f s",
                proc.pid,
                code,
                delay,
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if not self._stopping.is_set():
                    self._spawn()

    def stop(self) -> None:
        """Stop watching, then stop the process (gracefully, up to its shutdown timeout)."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if self._watcher.is_alive():
            self._watcher.join(timeout=5)
        if proc is None or proc.poll() is not None:
            return
        log.info("Stopping job worker process [%d]", proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=self._grace)
        except subprocess.TimeoutExpired:
            log.warning("Job worker process [%d] did not stop in time: killed", proc.pid)
            proc.kill()
            proc.wait()
