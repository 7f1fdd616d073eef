"""Local `cmpapi` commands forked from a process that has already imported them.

A `cmpapi` command started as a new interpreter spends most of its ~0.7 s importing the
CLI and the server before it does anything; the CLI tests ran hundreds of them. Here one
process per test worker imports those modules once and forks a child per command. The
child is still a process of its own with the command's argv, environment (``CMPAPI_*``
settings included), working directory, standard streams and exit status, so a test sees
what it would see from the installed program. What a fork cannot show, the start itself
(imports, lazy imports, time to ready), tests/cli/test_startup.py tests with real
interpreters.

Run as a script (``python forkserver.py SOCKET``), this file is the server: it must not
import the tests (its ``__main__`` is a plain script, as the installed ``cmpapi`` is, so
click names the program from ``argv[0]``). Imported, it gives ``run``, the client.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

# What the tests' local and remote commands import, beyond `cmpapi.cli.main` (found with
# ``python -X importtime``); a module missing here is imported by the child, as before.
PRELOAD = (
    "cmpapi.cli.main",
    "cmpapi.server.identity.admin",
    "cmpapi.server.settings",
    "cmpapi.server.db.engine",
    "cmpapi.server.db.migrate",
    "cmpapi.cli.remote",
    "httpx",
)


# --- the server ------------------------------------------------------------------------


def _exit_code(exc: SystemExit) -> int:
    """The status an interpreter exits with for ``exc`` (a message goes to stderr)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _command(request: dict[str, Any]) -> int:
    """Run one command in this (forked) process, as the installed script would."""
    from cmpapi.cli.main import main

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # what an interpreter prints for an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a command may close its streams
            stream.flush()
    return code


def _handle(conn: socket.socket) -> None:
    """One command: fork it, report its pid, wait for it, report its exit status."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        os.setpgid(0, 0)  # a timeout kills what the command started, too
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os._exit(_command(request))
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


def serve(path: str) -> None:
    import gc
    import importlib

    del sys.path[0]  # this file's directory: the tests' support modules are not the CLI's
    for name in PRELOAD:
        importlib.import_module(name)
    # Forking a process with threads copies locks some thread held: there must be none.
    assert threading.active_count() == 1, threading.enumerate()
    gc.freeze()  # children share the imported modules' pages instead of copying them
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped on exit
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # waitpid must see its command
            try:
                _handle(conn)
            finally:
                os._exit(70)
        conn.close()


# --- the client ------------------------------------------------------------------------


def _rest(env: dict[str, str]) -> dict[str, str]:
    """An environment without its ``CMPAPI_*`` settings (and the name of the test running,
    which pytest keeps in the environment)."""
    return {
        k: v for k, v in env.items() if not k.startswith("CMPAPI_") and k != "PYTEST_CURRENT_TEST"
    }


class _Server:
    """This test worker's fork server, started with ``env`` but its ``CMPAPI_*`` settings:
    the commands it forks may differ from it only in those."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = _rest(env)
        self.dir = tempfile.mkdtemp(prefix="cmpapi-fork-")
        self.path = os.path.join(self.dir, "s")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path],
            env=self.env,
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line != "ready\n":
            raise RuntimeError(f"the fork server did not start: {line!r}")
        atexit.register(self.stop)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        Path(self.path).unlink(missing_ok=True)
        os.rmdir(self.dir)

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a command with ``env`` runs as it would from a new interpreter: modules
        may read any other variable when imported (rich reads ``COLUMNS``); the settings
        are read when a command runs."""
        return self.proc.poll() is None and _rest(env) == self.env


_SERVER: _Server | None = None
_LOCK = threading.Lock()


def _read(file: IO[bytes]) -> str:
    """What a text-mode pipe would give: UTF-8, universal newlines."""
    file.seek(0)
    return file.read().decode().replace("\r\n", "\n").replace("\r", "\n")


def run(
    argv: list[str], *, env: dict[str, str], cwd: Path | None, input: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, env=env, cwd=cwd, input=input, capture_output=True,
    text=True, timeout=timeout)`` for a `cmpapi` command, forked when it can be."""
    global _SERVER
    with _LOCK:
        if _SERVER is None:
            from tests.support.env import child_env

            _SERVER = _Server(child_env(COLUMNS="80"))  # what the tests' commands run with
        server = _SERVER
    if not server.serves(env):
        return subprocess.run(
            argv, env=env, cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout
        )
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
    ):
        stdin.write(input.encode())
        stdin.seek(0)
        conn.settimeout(timeout)
        conn.connect(server.path)
        request = {"argv": argv, "env": env, "cwd": str(cwd or os.getcwd())}
        socket.send_fds(
            conn, [json.dumps(request).encode()], [f.fileno() for f in (stdin, stdout, stderr)]
        )
        replies = conn.makefile("r")
        pid = int(replies.readline())
        try:
            code = int(replies.readline())
        except TimeoutError:
            os.killpg(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(argv, timeout, _read(stdout), _read(stderr)) from None
        return subprocess.CompletedProcess(argv, code, _read(stdout), _read(stderr))


if __name__ == "__main__":
    serve(sys.argv[1])
