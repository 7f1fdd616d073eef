"""The document schemathesis generates from, and the operations cmpapi serves.

Generation reads the official document (tests/contract/spec.py finds it) with two
rewrites, done in memory, that follow the contract harness's relaxed view:

* ``additionalProperties: false`` beside a ``oneOf``/``anyOf``, on a schema with no
  properties of its own, is dropped. Read strictly it forbids every property, so no body
  satisfies it and schemathesis cannot generate one (createField, addFieldToTask,
  updateAssetField, addAssetToTask, ...). The harness drops it for validation alike.
* A ``oneOf`` with a ``discriminator.mapping`` gets each branch's discriminator property
  pinned to the mapping keys that lead to it (``type: direct_upload`` for the direct-upload
  branch), as OAS semantics say. Otherwise the generated ``type`` is any string and
  almost every valid-mode body is refused before the handler's interesting part runs.
"""

from __future__ import annotations

import copy
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from tests.contract.spec import load_spec, relaxed_view


def _pin_discriminator(node: dict[str, Any]) -> None:
    prop = node["discriminator"]["propertyName"]
    keys: dict[str, list[str]] = defaultdict(list)
    for value, ref in node["discriminator"]["mapping"].items():
        keys[ref].append(value)
    branches = []
    for branch in node["oneOf"]:
        values = keys.get(branch.get("$ref", ""))
        if not values:
            branches.append(branch)
            continue
        pin = {"properties": {prop: {"type": "string", "enum": values}}, "required": [prop]}
        branches.append({"allOf": [branch, pin]})
    node["oneOf"] = branches
    del node["discriminator"]  # the branches no longer are bare references


def _rewrite(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _rewrite(value)
    if (
        node.get("additionalProperties") is False
        and ("oneOf" in node or "anyOf" in node)
        and not node.get("properties")
    ):
        del node["additionalProperties"]
    if "oneOf" in node and node.get("discriminator", {}).get("mapping"):
        _pin_discriminator(node)


def generation_document() -> dict[str, Any]:
    """A rewritten deep copy of the official document (see the module docstring)."""
    document = copy.deepcopy(dict(load_spec()))
    _rewrite(document.get("components", {}).get("schemas", {}))
    _rewrite(document.get("paths", {}))
    return document


def served_operation_ids() -> set[str]:
    """The spec operations the app serves: its routes' operationIds found in the spec."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp)))
        document = app.openapi()
        app.state.engine.dispose()
    ours = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    return ours & set(relaxed_view().by_id)
