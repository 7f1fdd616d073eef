"""What the event streams' hub (``stream.py``) watches besides the commits of its own
process: the server's exit flag, and on SQLite the commits of other processes."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine


def server_exit_flag() -> Callable[[], bool] | None:
    """A function telling whether the server serving this process is shutting down, or
    None when no such server can be found.

    uvicorn tells the app nothing until every response has ended, and a stream does not
    end by itself: a shutdown would wait for the streams' clients to go away. Its signal
    handler (``Server.handle_exit``, installed for SIGTERM and SIGINT when it serves from
    the main thread: ``cmpapi serve``, each process of ``--workers``) is a bound method of
    the server, whose ``should_exit`` turns true when a shutdown starts. Elsewhere (another
    server, uvicorn in a thread) the streams end when the app's lifespan ends."""
    for number in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            server: Any = getattr(signal.getsignal(number), "__self__", None)
            if isinstance(getattr(server, "should_exit", None), bool):
                return lambda: bool(server.should_exit)
    return None


class ChangeProbe:
    """Whether another connection committed to the database since the last look (always
    false: only the SQLite probe knows)."""

    @staticmethod
    def of(engine: Engine) -> ChangeProbe:
        """The probe suited to the engine's database."""
        path = engine.url.database
        if engine.dialect.name != "sqlite" or not path or path == ":memory:":
            return ChangeProbe()
        if not Path(path).exists():
            return ChangeProbe()
        return SqliteProbe(path)

    def changed(self) -> bool:
        return False

    def close(self) -> None:
        pass


class SqliteProbe(ChangeProbe):
    """SQLite's ``PRAGMA data_version`` on a connection of its own (outside the pool): it
    changes when any other connection, of any process, commits. Microseconds per look, so
    the hub looks every 0.1 s: events recorded by other processes (``cmpapi worker``, the
    API processes of ``--workers``) reach the streams that soon without polling the outbox.
    """

    def __init__(self, path: str) -> None:
        # Autocommit: the pragma opens no transaction that would hold a WAL snapshot.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._version = self._read()

    def _read(self) -> int | None:
        try:
            row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0])

    def changed(self) -> bool:
        version = self._read()
        if version is None:  # unreadable (locked, gone): read the outbox to be safe
            return True
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        self._conn.close()
