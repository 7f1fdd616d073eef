"""What a server start loads (issue 15: `cmpapi serve --demo` ready within 1.5 s): the app,
made as `cmpapi serve` makes it, loads none of the libraries only some requests need, and
its wire models are built on first use. Loading, not timing: the stable measure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.env import child_env

# Makes the app and seeds the demo twice (the second time is a start on a seeded data
# directory), then prints the modules loaded and how many wire models are built.
PROBE = """
import json, sys
from pydantic import BaseModel
from cmpapi.cli.local import local_settings
from cmpapi.cli.server_commands import _prepared_app
import cmpapi.wire.models as wire
from cmpapi.server.identity.tables import Organization
settings = local_settings(demo=True, data_dir=sys.argv[1])
app = _prepared_app(settings)
models = [
    o for o in vars(wire).values()
    if isinstance(o, type) and issubclass(o, BaseModel) and o.__module__ == wire.__name__
]
print(json.dumps({
    "modules": sorted(sys.modules),
    "built": sum(1 for m in models if m.__pydantic_complete__),
    "models": len(models),
    "mappers_configured": Organization.__mapper__.configured,
}))
"""

# Needed by some requests only: webhook deliveries and callback URL checks (httpx), the
# authorization pages (jinja2), structured content validation patterns (regex), images
# (Pillow).
ON_DEMAND = {"httpx", "jinja2", "regex", "PIL"}


def probe(data_dir: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(data_dir)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_start_on_a_seeded_directory_loads_only_what_serving_needs(tmp_path: Path) -> None:
    first = probe(tmp_path)  # migrates and seeds (Pillow draws the demo pictures)
    assert "PIL" in first["modules"]  # type: ignore[operator]
    assert first["mappers_configured"]
    second = probe(tmp_path)
    modules = set(second["modules"])  # type: ignore[call-overload]
    assert "cmpapi.server.app" in modules
    assert not modules & ON_DEMAND
    # The demo's ORM objects are not loaded to see that they exist: no mapper configured.
    assert "cmpapi.server.demo" in modules
    assert not second["mappers_configured"]
    assert second["built"] < second["models"] / 4  # type: ignore[operator]
