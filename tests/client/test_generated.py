"""The generated half of the SDK: fresh from the spec, one method per operation in both
flavours, each findable by its operationId."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

from cmpapi.client import AsyncClient, Client
from cmpapi.client._async import operations as async_operations
from cmpapi.client._sync import operations as sync_operations

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = Path(
    os.environ.get("CMPAPI_SPEC_PATH", REPO_ROOT.parent / "shared" / "spec" / "cmp-openapi-v3.json")
)
SPEC = json.loads(SPEC_PATH.read_text())
OPERATIONS = [
    (op["operationId"], op["tags"][0], method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


def method_of(client: object, operation_id: str, tag: str) -> object:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from gen_client import pascal, snake

    return getattr(getattr(client, snake(pascal(tag))), snake(operation_id))


def test_generated_modules_match_a_fresh_generation() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_client.py"), "--check"],
        cwd=REPO_ROOT,
        env={**os.environ, "CMPAPI_SPEC_PATH": str(SPEC_PATH)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_operation_has_a_method_in_both_flavours() -> None:
    sync_client, async_client = Client(token="t"), AsyncClient(token="t")
    assert len(OPERATIONS) == 170
    for operation_id, tag, method, path in OPERATIONS:
        sync_method = method_of(sync_client, operation_id, tag)
        async_method = method_of(async_client, operation_id, tag)
        assert f"``{operation_id}``: ``{method} {path}``" in (sync_method.__doc__ or "")
        assert inspect.signature(sync_method).parameters.keys() == (
            inspect.signature(async_method).parameters.keys()
        ), operation_id
        paged = "AsyncPager" in str(inspect.signature(async_method).return_annotation)
        assert inspect.iscoroutinefunction(async_method) is not paged, operation_id
        assert not inspect.iscoroutinefunction(sync_method), operation_id


def test_operation_ids_are_written_as_literals() -> None:
    """``grep -rn '``listAssets``' src/cmpapi/client`` finds the method of each operation."""
    for module in (async_operations, sync_operations):
        text = Path(module.__file__ or "").read_text()
        missing = [o for o, *_ in OPERATIONS if f"``{o}``" not in text]
        assert missing == []
