"""``pip install cmpapi`` without the server extra: the SDK imports and works with none of
the server's dependencies. A child interpreter refuses to import them, as a machine
without them would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.env import child_env

# The server extra's top-level modules (pyproject.toml [project.optional-dependencies]).
SERVER_ONLY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "argon2",
    "jinja2",
    "multipart",
    "python_multipart",
    "orjson",
    "obstore",
    "botocore",
    "PIL",
    "regex",
    "httptools",
    "uvloop",
    "prometheus_client",
]

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {SERVER_ONLY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
    sys.meta_path.insert(0, Absent())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )


def test_the_sdk_works_without_the_server_dependencies() -> None:
    proc = run(
        """
        import httpx, sys
        try:
            import fastapi
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("the blocker let fastapi through")
        from cmpapi.client import Client

        def cmp(request):
            if request.url.path.endswith("/token"):
                return httpx.Response(200, json={"access_token": "t", "expires_in": 60})
            empty = {"data": [], "pagination": {"next": None, "previous": None}}
            return httpx.Response(200, json=empty)

        client = Client(client_id="a", client_secret="s", transport=httpx.MockTransport(cmp))
        assert list(client.teams.list_teams()) == []
        assert not [m for m in sys.modules if m.startswith("cmpapi.server")]
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_local_commands_say_to_install_the_server_extra(tmp_path: Path) -> None:
    proc = run(
        f"""
        import sys
        from cmpapi.cli.main import main
        sys.argv = ["cmpapi", "users", "list", "--data-dir", {str(tmp_path)!r}]
        main()
        """
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pip install 'cmpapi[server]'" in proc.stderr and "Traceback" not in proc.stderr
