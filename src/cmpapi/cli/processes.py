"""``cmpapi serve --workers N``: N API processes sharing one port, and the job worker in a
process of its own beside them.

uvicorn's multiprocess mode binds the socket in this (the parent) process and passes it to
N children it spawns and keeps alive; each child builds its app with ``api_app`` (the
server's ``create_app``) from the ``CMPAPI_*`` environment, which this module completes
with the options given to ``serve``. ``serve`` has applied the migrations and
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

    logging.config.dictConfig(uvicorn_options["log_config"])
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
        uvicorn.run(APP_FACTORY, factory=True, workers=settings.workers, **uvicorn_options)
    finally:
        if job_worker is not None:
            job_worker.stop()
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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
