#!/usr/bin/env python3
"""Generate ``src/cmpapi/wire/models.py`` from the official CMP Open API v3 document.

Usage::

    python scripts/gen_wire.py            # regenerate the committed module
    python scripts/gen_wire.py --check    # fail if the committed module is stale

The spec (``../shared/spec/cmp-openapi-v3.json`` seen from the repository root, or
``$CMPAPI_SPEC_PATH``) is another project's file: it is only read. The generator works on a
normalised in-memory copy that it writes to a temporary directory under a fixed file name,
so the generated header never records a varying path.

Normalisation and configuration follow ``shared/reference/wire-codegen-notes.md``:

* ``allOf: [{$ref: X}, {type: object, properties: P}]`` nodes that only restate properties of
  ``X`` with a different ``example``/``description`` (the 36 ``Pagination`` overrides) are
  collapsed to ``{$ref: X}`` so that every list envelope uses the shared ``Pagination``.
* ``$ref`` branches of a ``oneOf``/``anyOf`` that sits beside ``additionalProperties: false``
  and that do not close themselves get ``extra="forbid"`` through ``--extra-template-data``
  (the list is derived from the spec on every run).
* ``scripts/wire/model_name_map.json`` gives stable names to the classes the tool would
  otherwise number or mangle; a key that matches no generated model fails the run.

Every model inherits ``cmpapi.wire.base.WireModel`` or ``WireRootModel`` (``--base-class``,
then :func:`defer_builds` for the root models, which the tool derives from ``RootModel``
whatever the base class), and the tool's trailing ``X.model_rebuild()`` calls are dropped:
the models are built on first use, not at import (issue 15: ~700 models, a few dozen used
by a start). Forward references resolve then, from the module's namespace.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "spec" / "cmp-openapi-v3.json"
OUTPUT = REPO_ROOT / "src" / "cmpapi" / "wire" / "models.py"
NAME_MAP = REPO_ROOT / "scripts" / "wire" / "model_name_map.json"

CODEGEN_DIST = "datamodel-code-generator"
CODEGEN_VERSION = "0.89.0"

# Fixed names inside the temporary directory: the normalised spec's file name ends up in the
# generated header, so it must not vary between runs.
NORMALISED_SPEC_NAME = "cmp-openapi-v3.json"
TEMPLATE_DATA_NAME = "extra-template-data.json"
NAME_MAP_NAME = "model-name-map.json"
GENERATED_NAME = "models.py"

COMPONENT_PREFIX = "#/components/schemas/"
# Keys an override property may carry without changing validation semantics.
DOC_ONLY_KEYS = frozenset({"type", "nullable", "example", "examples", "description"})
UNUSED_NAME_MAP_WARNING = "matched no generated model"

CODEGEN_ARGS = [
    "--input-file-type",
    "openapi",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--openapi-scopes",
    "schemas",
    "paths",
    "parameters",
    "--use-operation-id-as-name",
    "--target-python-version",
    "3.11",
    "--target-pydantic-version",
    "2.14",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--strict-nullable",
    "--use-missing-sentinel",
    "--naming-strategy",
    "full-path",
    "--use-specialized-enum",
    "--enum-field-as-literal",
    "one",
    "--deserialize-default-values",
    "enum",
    "--type-mappings",
    "string+uuid=string",
    "--disable-timestamp",
    "--enable-version-header",
    "--formatters",
    "builtin",
    "--use-double-quotes",
    "--base-class",
    "cmpapi.wire.base.WireModel",
    "--disable-future-imports",
]

BASE_IMPORT = "from cmpapi.wire.base import WireModel\n"
ROOT_BASE = re.compile(r"(?<![\w.])RootModel\[")
REBUILD_CALL = re.compile(r"^\w+\.model_rebuild\(\)\n", re.M)
PYDANTIC_ROOT_IMPORT = re.compile(r"^(from pydantic import [^(\n]*?), RootModel\n", re.M)


class GenerationError(Exception):
    """Raised for any condition that must stop the generator with a message."""


# --------------------------------------------------------------------------- spec handling


def ref_name(ref: str) -> str | None:
    """Component schema name of a local ``$ref``, or None for any other reference."""
    if ref.startswith(COMPONENT_PREFIX):
        return ref[len(COMPONENT_PREFIX) :]
    return None


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))


def _all_properties(
    schemas: dict[str, Any], name: str, seen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Properties of a component schema, including those of its ``allOf`` parts."""
    if name in seen or name not in schemas:
        return {}
    schema = schemas[name]
    props: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        base = ref_name(part.get("$ref", ""))
        if base is not None:
            props.update(_all_properties(schemas, base, seen | {name}))
        else:
            props.update(part.get("properties", {}))
    props.update(schema.get("properties", {}))
    return props


def _is_doc_only_override(schemas: dict[str, Any], node: dict[str, Any]) -> str | None:
    """Return X if ``node`` is ``allOf: [{$ref: X}, {type: object, properties: P}]`` where P only
    changes documentation (example/description) of properties that X already has."""
    if set(node) != {"allOf"} or not isinstance(node["allOf"], list) or len(node["allOf"]) != 2:
        return None
    first, second = node["allOf"]
    if not isinstance(first, dict) or set(first) != {"$ref"}:
        return None
    target = ref_name(first["$ref"])
    if target is None or target not in schemas:
        return None
    if not isinstance(second, dict) or not set(second) <= {"type", "properties"}:
        return None
    if second.get("type", "object") != "object":
        return None
    overrides = second.get("properties")
    if not isinstance(overrides, dict) or not overrides:
        return None
    base_props = _all_properties(schemas, target)
    for prop, override in overrides.items():
        base = base_props.get(prop)
        if not isinstance(base, dict) or "$ref" in base or not isinstance(override, dict):
            return None
        if not set(override) <= DOC_ONLY_KEYS:
            return None
        if override.get("type", base.get("type")) != base.get("type"):
            return None
        if bool(override.get("nullable", False)) != bool(base.get("nullable", False)):
            return None
    return target


def normalise(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Collapse documentation-only ``allOf`` overrides to a plain ``$ref``.

    Returns the normalised copy and the JSON pointers of the collapsed nodes. The top-level
    component schemas themselves are never rewritten (they define their own classes).
    """
    spec = copy.deepcopy(spec)
    schemas = spec.get("components", {}).get("schemas", {})
    collapsed: list[str] = []

    def rewrite(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                child = (*path, str(key))
                is_component = len(child) == 3 and child[:2] == ("components", "schemas")
                if isinstance(value, dict) and not is_component:
                    target = _is_doc_only_override(schemas, value)
                    if target is not None:
                        node[key] = {"$ref": COMPONENT_PREFIX + target}
                        collapsed.append(
                            "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in child)
                        )
                        continue
                rewrite(value, child)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                rewrite(value, (*path, str(index)))

    rewrite(spec, ())
    return spec, collapsed


def _closes_itself(schemas: dict[str, Any], name: str, seen: frozenset[str] = frozenset()) -> bool:
    """True if the schema, or any part of its ``allOf`` chain, says additionalProperties: false."""
    if name in seen or name not in schemas:
        return False
    schema = schemas[name]
    if schema.get("additionalProperties") is False:
        return True
    for part in schema.get("allOf", []):
        if part.get("additionalProperties") is False:
            return True
        base = ref_name(part.get("$ref", ""))
        if base is not None and _closes_itself(schemas, base, seen | {name}):
            return True
    return False


def open_union_branches(spec: dict[str, Any]) -> list[str]:
    """Component schemas that are ``$ref`` branches of a ``oneOf``/``anyOf`` with a sibling
    ``additionalProperties: false`` but do not close themselves (pitfall 4 of the notes)."""
    schemas = spec.get("components", {}).get("schemas", {})
    found: set[str] = set()
    for _path, node in _walk(spec):
        if not isinstance(node, dict) or node.get("additionalProperties") is not False:
            continue
        for keyword in ("oneOf", "anyOf"):
            for branch in node.get(keyword, []):
                name = ref_name(branch.get("$ref", "")) if isinstance(branch, dict) else None
                if name is not None and not _closes_itself(schemas, name):
                    found.add(name)
    return sorted(found)


# --------------------------------------------------------------------------- generation


def defer_builds(text: str) -> str:
    """The tool's module with every root model on ``WireRootModel`` and no
    ``model_rebuild()`` calls (each would build its model at import)."""
    if BASE_IMPORT not in text:
        raise GenerationError(f"the generated module lacks {BASE_IMPORT.strip()!r}")
    text = text.replace(BASE_IMPORT, "from cmpapi.wire.base import WireModel, WireRootModel\n")
    text, imports = PYDANTIC_ROOT_IMPORT.subn(r"\1\n", text)
    if imports != 1:
        raise GenerationError("the generated module's pydantic import changed shape")
    text = ROOT_BASE.sub("WireRootModel[", text)
    text = REBUILD_CALL.sub("", text)
    if re.search(r"\bRootModel\b(?<!WireRootModel)|model_rebuild", text):
        raise GenerationError("the generated module still uses RootModel or model_rebuild")
    return text.rstrip("\n") + "\n"


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def locate_spec(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("CMPAPI_SPEC_PATH")
    if env:
        return Path(env).resolve()
    return DEFAULT_SPEC


def check_codegen() -> None:
    if importlib.util.find_spec("datamodel_code_generator") is None:
        raise GenerationError(
            f"{CODEGEN_DIST} is not installed for {sys.executable}; "
            f"install {CODEGEN_DIST}=={CODEGEN_VERSION} (it is in the 'test' extra)"
        )
    installed = importlib.metadata.version(CODEGEN_DIST)
    if installed != CODEGEN_VERSION:
        raise GenerationError(
            f"{CODEGEN_DIST} {installed} is installed, but the committed models are generated "
            f"with {CODEGEN_VERSION}; install {CODEGEN_DIST}=={CODEGEN_VERSION}"
        )


def generate(spec_path: Path) -> tuple[str, dict[str, Any]]:
    """Generate the module text. Returns the text and a few figures for the report."""
    if not spec_path.is_file():
        raise GenerationError(f"spec not found: {spec_path} (set CMPAPI_SPEC_PATH or use --spec)")
    check_codegen()
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    normalised, collapsed = normalise(spec)
    branches = open_union_branches(normalised)
    name_map = json.loads(NAME_MAP.read_text(encoding="utf-8"))
    template_data = {name: {"extra_fields": "forbid"} for name in branches}

    with tempfile.TemporaryDirectory(prefix="cmpapi-gen-wire-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / NORMALISED_SPEC_NAME).write_text(
            json.dumps(normalised, indent=2, sort_keys=True), encoding="utf-8"
        )
        (tmp / TEMPLATE_DATA_NAME).write_text(
            json.dumps(template_data, indent=2, sort_keys=True), encoding="utf-8"
        )
        (tmp / NAME_MAP_NAME).write_text(
            json.dumps(name_map, indent=2, sort_keys=True), encoding="utf-8"
        )
        cmd = [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            NORMALISED_SPEC_NAME,
            "--output",
            GENERATED_NAME,
            "--model-name-map",
            NAME_MAP_NAME,
            "--extra-template-data",
            TEMPLATE_DATA_NAME,
            *CODEGEN_ARGS,
        ]
        # Run inside the temp dir with relative paths: the tool would otherwise pick up a
        # [tool.datamodel-codegen] table from the project's pyproject.toml, and the header
        # records only the fixed file name.
        env = {**os.environ, "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        elapsed = time.perf_counter() - started
        stderr = proc.stderr.strip()
        if proc.returncode != 0:
            raise GenerationError(f"datamodel-codegen failed (exit {proc.returncode}):\n{stderr}")
        if UNUSED_NAME_MAP_WARNING in stderr:
            stale = [line for line in stderr.splitlines() if UNUSED_NAME_MAP_WARNING in line]
            raise GenerationError(
                f"{_display(NAME_MAP)} has stale keys; datamodel-codegen said:\n" + "\n".join(stale)
            )
        text = defer_builds((tmp / GENERATED_NAME).read_text(encoding="utf-8"))

    stats = {
        "collapsed": len(collapsed),
        "forbid_branches": len(branches),
        "codegen_seconds": elapsed,
        "warnings": [line for line in stderr.splitlines() if line.strip()],
    }
    return text, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed models differ from a fresh generation",
    )
    parser.add_argument(
        "--spec", help="path of cmp-openapi-v3.json (default: $CMPAPI_SPEC_PATH or ../shared/spec)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show datamodel-codegen's warnings"
    )
    args = parser.parse_args(argv)

    rel_output = OUTPUT.relative_to(REPO_ROOT)
    try:
        text, stats = generate(locate_spec(args.spec))
    except GenerationError as exc:
        print(f"gen_wire: error: {exc}", file=sys.stderr)
        return 2

    summary = (
        f"collapsed {stats['collapsed']} allOf overrides, forbid extras on "
        f"{stats['forbid_branches']} oneOf/anyOf branches, codegen {stats['codegen_seconds']:.1f} s"
    )
    if args.verbose:
        for line in stats["warnings"]:
            print(f"gen_wire: codegen: {line}", file=sys.stderr)

    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else None
    if args.check:
        if current == text:
            print(f"gen_wire: {rel_output} is up to date ({summary})")
            return 0
        if current is None:
            print(
                f"gen_wire: error: {rel_output} does not exist; run `python scripts/gen_wire.py`",
                file=sys.stderr,
            )
            return 1
        diff = list(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{rel_output} (committed)",
                tofile=f"{rel_output} (generated)",
                n=1,
            )
        )
        shown = "".join(diff[:60])
        more = f"... ({len(diff) - 60} more diff lines)\n" if len(diff) > 60 else ""
        print(
            f"gen_wire: error: {rel_output} is out of date with the spec or the generator "
            f"(drift); run `python scripts/gen_wire.py` and commit the result.\n{shown}{more}",
            file=sys.stderr,
        )
        return 1

    if current == text:
        print(f"gen_wire: {rel_output} unchanged ({summary})")
    else:
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"gen_wire: wrote {rel_output} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
