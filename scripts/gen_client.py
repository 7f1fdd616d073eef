#!/usr/bin/env python3
"""Generate the SDK's operation methods and its sync flavour.

Usage::

    python scripts/gen_client.py            # regenerate the committed modules
    python scripts/gen_client.py --check    # fail if a committed module is stale

Two outputs, both committed, neither edited by hand:

* ``src/cmpapi/client/_async/operations.py``: one namespace class per spec tag and one
  method per operation of the official document (``../shared/spec/cmp-openapi-v3.json``
  or ``$CMPAPI_SPEC_PATH``, only read), named ``snake_case(operationId)`` and typed with
  the ``cmpapi.wire`` models, which this script introspects for parameter and result types.
* ``src/cmpapi/client/_sync/*.py``: every module of ``_async/`` but ``_concurrency.py``
  rewritten without ``async``/``await`` (the unasync approach of httpcore): the sync
  client is generated, never a hand-kept twin.
"""

from __future__ import annotations

import argparse
import difflib
import enum
import json
import os
import re
import subprocess
import sys
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, RootModel

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "spec" / "cmp-openapi-v3.json"
CLIENT = REPO_ROOT / "src" / "cmpapi" / "client"
OPERATIONS = CLIENT / "_async" / "operations.py"
HAND_WRITTEN_TWINS = {"_concurrency.py"}
METHODS = ("get", "post", "put", "patch", "delete")

sys.path.insert(0, str(REPO_ROOT / "src"))
import cmpapi.wire as wire  # noqa: E402

MISSING = type(getattr(wire.ListTasksParametersQuery.model_fields["offset"], "default", None))


def snake(name: str) -> str:
    """``listAssets`` -> ``list_assets``; ``getSCContentType`` -> ``get_sc_content_type``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


# -- types -------------------------------------------------------------------------------


def fmt(annotation: Any, param: bool = False) -> str:
    """A type expression for ``annotation`` in the generated module. Parameters take
    plain values (``Literal`` strings for enums, mappings for models); results name the
    wire classes."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not MISSING]
    if origin is typing.Annotated:
        return fmt(args[0], param)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(dict.fromkeys(fmt(a, param) for a in args))
    if origin is list:
        return f"{'Sequence' if param else 'list'}[{fmt(args[0], param)}]"
    if origin is dict:
        return f"dict[{fmt(args[0], param)}, {fmt(args[1], param)}]"
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            if param:
                return f"Literal[{', '.join(repr(m.value) for m in annotation)}]"
            return f"wire.{annotation.__name__}"
        if issubclass(annotation, BaseModel):
            if issubclass(annotation, RootModel):
                return fmt(annotation.model_fields["root"].annotation, param)
            if param:
                return f"wire.{annotation.__name__} | Mapping[str, Any]"
            return f"wire.{annotation.__name__}"
        if annotation is AwareDatetime or issubclass(annotation, datetime):
            return "datetime"
        if issubclass(annotation, date):
            return "date"
        if annotation in (str, int, float, bool, bytes):
            return annotation.__name__
    if annotation.__class__.__name__ == "TypeAliasType":
        return fmt(annotation.__value__, param)
    return "Any"


def model(name: str) -> type[BaseModel] | None:
    found = getattr(wire, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def schema_model(spec: dict[str, Any], schema: dict[str, Any], inline: str) -> str:
    ref = schema.get("$ref")
    name = ref.rsplit("/", 1)[-1] if ref else inline
    if model(name) is None:
        raise SystemExit(f"no wire model {name}")
    return name


# -- one operation -----------------------------------------------------------------------

ANY_JSON = "AnyJSON"  # a result the spec leaves open (an empty schema): the decoded body


def result_expr(name: str | None) -> str:
    """How the generated code names a status's result model."""
    if name is None or name == ANY_JSON:
        return str(name)
    return f"wire.{name}"


class Operation:
    """What the generator needs of one operation."""

    def __init__(self, spec: dict[str, Any], path: str, method: str, op: dict[str, Any]):
        self.spec, self.path, self.method, self.op = spec, path, method.upper(), op
        self.id = op["operationId"]
        self.name = snake(self.id)
        self.tag = op["tags"][0]
        params = [self._param(p) for p in op.get("parameters", [])]
        self.path_params = [p["name"] for p in params if p["in"] == "path"]
        self.query = model(pascal(self.id) + "ParametersQuery")
        self.body = self._body()
        self.results = self._results()

    def _param(self, p: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in p:
            return self.spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]
        return p

    def _body(self) -> tuple[str, bool] | None:
        body = self.op.get("requestBody")
        if not body:
            return None
        schema = body["content"]["application/json"]["schema"]
        return schema_model(self.spec, schema, pascal(self.id) + "Request"), bool(
            body.get("required")
        )

    def _results(self) -> dict[int, str | None]:
        """Status -> wire model name (``ANY_JSON`` for an empty schema, None: no body)."""
        results: dict[int, str | None] = {}
        for code, answer in sorted(self.op["responses"].items()):
            if not code.startswith(("2", "3")):
                continue
            content = answer.get("content", {}).get("application/json")
            if content is None:
                results[int(code)] = None
            elif not content.get("schema"):
                results[int(code)] = ANY_JSON
            else:
                results[int(code)] = schema_model(self.spec, content["schema"], self._inline(code))
        inline = [n for c, n in results.items() if n and n.startswith(pascal(self.id))]
        if len(set(inline)) != len(inline):
            raise SystemExit(f"{self.id}: one wire model for the inline schemas of two statuses")
        return results

    def _inline(self, code: str) -> str:
        """The wire model of a status's inline schema: the numbered one when the wire
        generator had to tell several apart (scripts/wire/model_name_map.json)."""
        numbered = f"{pascal(self.id)}Response{code}"
        return numbered if model(numbered) else f"{pascal(self.id)}Response"

    @property
    def paged(self) -> bool:
        names = {n for n in self.results.values() if n and n != ANY_JSON}
        if len(names) != 1 or self.method != "GET":
            return False
        fields = model(next(iter(names))).model_fields  # type: ignore[union-attr]
        return "pagination" in fields and "data" in fields

    def signature(self) -> list[str]:
        args = ["self"] + [f"{p}: str" for p in self.path_params]
        keyword: list[str] = []
        if self.body:
            name, required = self.body
            kind = fmt(model(name), param=True)
            keyword.append(f"body: {kind}" if required else f"body: {kind} | None = None")
        for field, info in (self.query.model_fields if self.query else {}).items():
            kind = fmt(info.annotation, param=True)
            if info.is_required():
                keyword.insert(0, f"{field}: {kind}")
            else:
                keyword.append(f"{field}: {kind} | None = None")
        return args + (["*", *keyword] if keyword else [])

    def returns(self) -> str:
        if self.paged:
            envelope = model(next(n for n in self.results.values() if n))
            item = typing.get_args(envelope.model_fields["data"].annotation)  # type: ignore[union-attr]
            return f"AsyncPager[{fmt(item[0]) if item else 'Any'}]"
        kinds = []
        for code, name in self.results.items():
            if 300 <= code < 400:
                kinds.append("Redirect")
            elif name == ANY_JSON:
                kinds.append("Any")
            elif name:
                kinds.append(fmt(model(name)))
            else:
                kinds.append("None")
        return " | ".join(dict.fromkeys(kinds)) or "None"

    def summary(self) -> str:
        """The description's first sentence, without its HTML (the "Experimental" badge
        becomes a remark)."""
        text = self.op.get("description") or self.op.get("summary") or self.id
        experimental = "Experimental" in text[:200] and "<span" in text[:200]
        text = re.sub(r"<[^>]+>", " ", text).replace("\\", "/").replace('"', "'")
        text = " ".join(text.split()).removeprefix("Experimental").strip()
        sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
        return f"{sentence}." + (" (Experimental in the CMP.)" if experimental else "")

    def render(self) -> str:
        where = f"``{self.id}``: ``{self.method} {self.path}``"
        doc = f'"""{self.summary()}\n\n        {where}\n        """'
        path = self.path
        for p in self.path_params:
            path = path.replace("{" + p + "}", "{segment(" + p + ")}")
        path_expr = f'f"{path}"' if self.path_params else f'"{path}"'
        lines = []
        if self.query:
            values = ", ".join(f"{f}={f}" for f in self.query.model_fields)
            lines.append(f"params = query(wire.{self.query.__name__}, {values})")
        params = "params" if self.query else "{}"
        prefix = "" if self.paged else "async "
        head = f"    {prefix}def {self.name}({', '.join(self.signature())}) -> {self.returns()}:"
        if self.paged:
            envelope = next(n for n in self.results.values() if n)
            lines.append(f"return AsyncPager(self._http, {path_expr}, {params}, wire.{envelope})")
        else:
            body = ""
            if self.body:
                body = f", json=dump(wire.{self.body[0]}, body)"
                if not self.body[1]:
                    body = f", json=None if body is None else dump(wire.{self.body[0]}, body)"
            query_arg = ", params=params" if self.query else ""
            lines.append(
                f'response = await self._http.request("{self.method}", {path_expr}'
                f"{query_arg}{body})"
            )
            results = ", ".join(f"{c}: {result_expr(n)}" for c, n in self.results.items())
            lines.append(f"return result(response, {{{results}}})")
        out = [head, f"        {doc}"] + [f"        {line}" for line in lines]
        return "\n".join(out)


# -- modules -----------------------------------------------------------------------------

HEADER = '''"""GENERATED by scripts/gen_client.py from the official CMP Open API v3 document: one
namespace per spec tag, one method per operation, named snake_case(operationId). Do not edit;
change the generator and regenerate."""

# ruff: noqa: E501
# mypy: disable-error-code="no-any-return"
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from cmpapi import wire
from cmpapi.client._async._http import AsyncHTTP
from cmpapi.client._async._paging import AsyncPager
from cmpapi.client._operation_support import AnyJSON, Redirect, dump, query, result, segment

__all__ = ["AsyncOperations", "Redirect"]
'''


def operations_module(spec: dict[str, Any]) -> str:
    by_tag: dict[str, list[Operation]] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                op = Operation(spec, path, method, item[method])
                by_tag.setdefault(op.tag, []).append(op)
    parts = [HEADER]
    namespaces = []
    for tag in sorted(by_tag):
        cls = pascal(tag)
        namespaces.append((snake(cls), cls))
        methods = "\n\n".join(op.render() for op in sorted(by_tag[tag], key=lambda o: o.name))
        parts.append(
            f'\n\nclass {cls}:\n    """Operations of the spec\'s "{tag}" tag."""\n\n'
            f"    def __init__(self, http: AsyncHTTP) -> None:\n        self._http = http\n\n"
            f"{methods}\n"
        )
    assignments = "".join(f"        self.{attr} = {cls}(http)\n" for attr, cls in namespaces)
    parts.append(
        "\n\nclass AsyncOperations:\n"
        '    """Every operation of the spec, one namespace per tag."""\n\n'
        f"    def __init__(self, http: AsyncHTTP) -> None:\n{assignments}"
    )
    return "".join(parts)


# -- unasync -----------------------------------------------------------------------------

WORDS = {
    "async def": "def",
    "async for": "for",
    "async with": "with",
    "await ": "",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "StopAsyncIteration": "StopIteration",
    "aclose": "close",
    "aiter_bytes": "iter_bytes",
    "aiter_lines": "iter_lines",
    "aread": "read",
    "asynccontextmanager": "contextmanager",
    "asynchronous": "synchronous",
}
ASYNC_NAME = re.compile(r"\bAsync([A-Z]\w*)")


def unasync(source: str) -> str:
    """``source`` of an ``_async`` module, rewritten for the sync client."""
    for old, new in WORDS.items():
        source = re.sub(rf"\b{re.escape(old)}", new, source)
    source = source.replace("client._async", "client._sync").replace("_async/", "_sync/")
    source = ASYNC_NAME.sub(r"\1", source)
    return source.replace("AsyncHTTP", "HTTP")


def formatted(source: str, name: str) -> str:
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff) if ruff.exists() else "ruff"]
    config = ["--config", str(REPO_ROOT / "pyproject.toml"), "--stdin-filename", name]
    source = subprocess.run(
        [*command, "check", "--fix-only", "--quiet", "--select", "I,F401", *config, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return subprocess.run(
        [*command, "format", *config, "-"], input=source, capture_output=True, text=True, check=True
    ).stdout


def outputs(spec: dict[str, Any]) -> dict[Path, str]:
    result = {OPERATIONS: formatted(operations_module(spec), str(OPERATIONS))}
    sources = {*(CLIENT / "_async").glob("*.py"), OPERATIONS}
    for source in sorted(sources):
        if source.name in HAND_WRITTEN_TWINS:
            continue
        text = result.get(source) or source.read_text()
        target = CLIENT / "_sync" / source.name
        result[target] = formatted(
            f"# GENERATED from _async/{source.name} by scripts/gen_client.py: do not edit.\n"
            + unasync(text),
            str(target),
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if an output is stale")
    parser.add_argument("--spec", default=os.environ.get("CMPAPI_SPEC_PATH", str(DEFAULT_SPEC)))
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    stale = []
    for path, text in outputs(spec).items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(path)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), text.splitlines(True), str(path), "generated", n=1
                )
            )
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    if stale:
        print(f"stale: {', '.join(str(p.relative_to(REPO_ROOT)) for p in stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
