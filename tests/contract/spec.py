"""Contract harness: check every ``/v3`` response against the official CMP OpenAPI document.

The official document (OpenAPI 3.0.0, 170 operations, 359 component schemas) belongs to
another project. It is read at test time and never copied into this repository. Its path is
``$CMPAPI_SPEC_PATH`` if that is set, else ``<repo>/../shared/spec/cmp-openapi-v3.json``.
Import this module freely: nothing is read until the first validation. Callers that may run
without the document (CI) should look at :data:`SPEC_AVAILABLE` first.

Public API
----------
* :func:`find_operation` maps a requested method and URL path (``/v3/users/abc``) to the
  spec :class:`Operation` (``GET /users/{id}``, ``getUser``).
* :func:`validate_response` checks one response and raises :class:`ContractViolation`.
* :func:`check_httpx_response` / :func:`acheck_httpx_response` do the same for an
  ``httpx.Response``. Use them as ``httpx.Client(event_hooks={"response": [...]})`` hooks or
  call them on a Starlette ``TestClient`` response. Redirects that the client followed are
  checked too (``response.history``).
* :func:`suspended` is a context manager that turns the checks off, for tests that probe
  behaviour outside the spec on purpose (a 404 for an unknown route, a 405).
* :data:`VALIDATED` counts operation ids that got a response which passed validation, and
  :data:`VALIDATED_RESPONSES` counts ``(operation id, status)`` pairs. Both are per process,
  so under pytest-xdist each worker has its own counts.
* :func:`relaxed_view` returns the cached :class:`RelaxedView`: the relaxed schemas, the
  operations, build statistics and :meth:`RelaxedView.component_validator`.

What is a violation
-------------------
Checks apply only to paths under ``/v3/``; ``/v3/openapi.json`` is ours and is skipped, and
so is every other path. A response is a violation when:

* no spec operation has this method and path (a 405 or a 404 for an unknown route counts);
* the status is 5xx. Every 5xx is a violation, declared or not: the project must never 500;
* the status is not declared for the operation. 429 is always allowed and must carry an
  ``Error`` body; so are 400 and 422 (``ALWAYS_ALLOWED_ERRORS``): 30 operations declare no
  400, yet refusing bad input beats ignoring it (docs/compat.md records this choice); and
  so are 413, 414 and 431, the request bounds every operation shares.
  Exact codes are looked up first, then ``4XX``-style ranges, then ``default`` (this spec
  uses only exact codes);
* a declared header has a value outside its schema, or a 3xx response lacks a declared
  ``Location`` header. The spec marks no header as required, so the other statuses do not
  require theirs;
* the response declares ``application/json`` but ``Content-Type`` is not ``application/json``
  (parameters such as ``charset`` are ignored), or the body is not strict JSON (``NaN`` and
  ``Infinity`` are rejected);
* the response declares no content (204, 302, ``deleteRawFile`` 200) but the body is not
  empty;
* the body does not validate against the relaxed schema. That catches an extra field where
  the spec says ``additionalProperties: false``, a missing required field, a wrong type,
  a ``null`` where the field is not nullable, and a value outside an enum.

The relaxed view
----------------
Strict JSON Schema cannot satisfy about 48 of the component schemas. The causes are listed
in the shared wire-codegen notes, pitfall 9. So every schema is rewritten once, in memory,
into draft 2020-12 JSON Schema:

* ``$ref`` to ``#/components/schemas/X`` becomes ``#/$defs/X``, and every component is
  relaxed the same way. OAS 3.0 ignores the siblings of a ``$ref``. The exception is
  ``nullable: true``, which becomes ``anyOf: [{type: null}, {$ref}]``.
* ``allOf`` parts, with their ``$ref`` targets resolved recursively, merge into one object.
  Properties are united; a property defined in several parts merges the same way. The
  ``required`` lists are united. The result is closed (``additionalProperties: false``) if
  any part was closed, so extra fields still fail. Scalar keywords keep the first value seen.
  The result is nullable if some part says ``nullable: true`` and no part says
  ``nullable: false``. That keeps the 36 ``pagination`` "example overrides" nullable.
* ``additionalProperties: false`` beside a ``oneOf``/``anyOf``, on a schema with no
  properties of its own, is dropped. The branches decide.
* ``additionalProperties: false`` stays everywhere else, so extra fields fail.
  ``additionalProperties: true`` is the default and is dropped; a schema value is relaxed.
* ``nullable: true`` turns ``type: T`` into ``type: [T, "null"]`` and adds ``null`` to an
  ``enum``. A nullable schema without ``type`` (for example a bare ``oneOf``) is wrapped as
  ``anyOf: [{type: null}, ...]``. Without ``nullable: true``, ``null`` is rejected, as in
  OAS 3.0.
* A ``oneOf`` with a ``discriminator.mapping`` becomes "the discriminator property is
  required and is one of the mapping keys", plus one ``if {prop: const v} then {$ref
  mapping[v]}`` per key. This follows OAS semantics and does not depend on the branches
  excluding each other, which several in this spec do not. It also gives precise errors
  (the failing field inside the chosen branch, not "not valid under any of ..."). A
  ``oneOf`` without a mapping stays a plain ``oneOf``.
* Annotations (``description``, ``example``, ``title``, ``default``, ``deprecated``,
  ``discriminator``, ``readOnly``, ``writeOnly``, ``x-*``) are dropped. The OAS 3.0 boolean
  ``exclusiveMinimum``/``exclusiveMaximum`` become the numeric form.

Formats are checked loosely, on purpose. Only ``date-time`` (RFC 3339, with a ``Z`` or
``+hh:mm`` offset, fraction optional) and ``date`` (``YYYY-MM-DD``) are enforced. They are
unambiguous, cover 116 of the spec's 127 ``format`` uses, and a naive or malformed
timestamp is a real wire bug. ``uri`` (10 uses) and ``uuid`` (1 use) are not enforced: the
spec's own ``uuid`` example is 32 hex digits without dashes, and neither is worth a false
positive.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

__all__ = [
    "SPEC_AVAILABLE",
    "SPEC_PATH",
    "VALIDATED",
    "VALIDATED_RESPONSES",
    "ContractViolation",
    "DeclaredHeader",
    "DeclaredResponse",
    "Operation",
    "RelaxedView",
    "acheck_httpx_response",
    "check_httpx_response",
    "find_operation",
    "load_spec",
    "relaxed_view",
    "suspended",
    "validate_response",
]


def _spec_path() -> Path:
    configured = os.environ.get("CMPAPI_SPEC_PATH")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "cmp-openapi-v3.json"


SPEC_PATH: Path = _spec_path()
SPEC_AVAILABLE: bool = SPEC_PATH.is_file()

API_PREFIX = "/v3"
IGNORED_PATHS: frozenset[str] = frozenset({"/v3/openapi.json"})

VALIDATED: collections.Counter[str] = collections.Counter()
VALIDATED_RESPONSES: collections.Counter[tuple[str, int]] = collections.Counter()

_SUSPENDED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "cmpapi_contract_suspended", default=False
)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Skip every check inside the block.

    Use it for a test that probes behaviour outside the spec on purpose, for example a 404
    for an unknown route or a 405. The flag is a context variable, so it covers event hooks
    run by the test's own client.
    """
    token = _SUSPENDED.set(True)
    try:
        yield
    finally:
        _SUSPENDED.reset(token)


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_COMPONENT_PREFIX = "#/components/schemas/"
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "example",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "discriminator",
        "nullable",
    }
)
_EXCERPT_CHARS = 200


class ContractViolation(AssertionError):
    """A response that the official spec does not allow.

    ``kind`` is one of ``unknown-operation``, ``server-error``, ``undeclared-status``,
    ``header``, ``content-type``, ``invalid-json``, ``unexpected-body`` and ``schema``.
    ``pointer`` is the JSON pointer of the failing part of the body (``schema`` only), and
    ``detail`` the validator's message for it.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        operation_id: str | None = None,
        status: int | None = None,
        pointer: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.operation_id = operation_id
        self.status = status
        self.pointer = pointer
        self.detail = detail


# --------------------------------------------------------------------------- formats

_DATE_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if _DATE_TIME_RE.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper())
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if _DATE_RE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- relaxing


def _escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Relaxer:
    """Turns OAS 3.0 schemas into relaxed draft 2020-12 JSON Schema (see module doc)."""

    def __init__(self, components: Mapping[str, Any]) -> None:
        self.components = components
        self.stats: collections.Counter[str] = collections.Counter()
        self.notes: list[str] = []
        # reason -> names of the component schemas (or op/status) the reason applied to
        self.relaxed: dict[str, set[str]] = collections.defaultdict(set)
        self.current = ""

    def _record(self, reason: str) -> None:
        self.stats[reason] += 1
        self.relaxed[reason].add(self.current)

    def component_name(self, ref: str) -> str:
        if not ref.startswith(_COMPONENT_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r} (only {_COMPONENT_PREFIX}* is handled)")
        name = ref[len(_COMPONENT_PREFIX) :]
        if name not in self.components:
            raise ValueError(f"dangling $ref {ref!r}")
        return name

    def def_ref(self, ref: str) -> dict[str, Any]:
        return {"$ref": "#/$defs/" + _escape_pointer_token(self.component_name(ref))}

    # ---- allOf flattening (raw OAS in, raw OAS without a top-level allOf out)

    def flatten(self, node: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        if "$ref" in node:
            target = self.flatten(self.components[self.component_name(node["$ref"])], where)
            if node.get("nullable") is True:
                return {**target, "nullable": True}
            return target
        if "allOf" not in node:
            return node
        parts = [self.flatten(part, where) for part in node["allOf"]]
        rest = {key: value for key, value in node.items() if key != "allOf"}
        if rest:
            parts.append(rest)
        self.stats["allOf merged"] += 1
        return self._merge(parts, where)

    def _merge(self, parts: list[Mapping[str, Any]], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        closed = False
        nullable_votes: set[bool] = set()
        combinators: list[dict[str, Any]] = []
        for part in parts:
            for key, value in part.items():
                if key == "properties":
                    for name, sub in value.items():
                        properties[name] = (
                            {"allOf": [properties[name], sub]} if name in properties else sub
                        )
                elif key == "required":
                    required.extend(name for name in value if name not in required)
                elif key == "additionalProperties":
                    if value is False:
                        closed = True
                    elif value is not True:
                        previous = out.get("additionalProperties")
                        out[key] = value if previous is None else {"allOf": [previous, value]}
                elif key == "nullable":
                    nullable_votes.add(bool(value))
                elif key in ("oneOf", "anyOf"):
                    combinator = {key: value}
                    if "discriminator" in part:
                        combinator["discriminator"] = part["discriminator"]
                    combinators.append(combinator)
                elif key == "items":
                    out[key] = {"allOf": [out[key], value]} if key in out else value
                elif key == "enum":
                    out[key] = [v for v in out[key] if v in value] if key in out else list(value)
                elif key in _ANNOTATIONS or key.startswith("x-"):
                    continue
                elif key in out and out[key] != value:
                    self.notes.append(
                        f"{where}: allOf parts disagree on {key!r}; kept {out[key]!r}"
                    )
                else:
                    out.setdefault(key, value)
        if properties:
            out["properties"] = properties
        if required:
            out["required"] = required
        if closed:
            if "additionalProperties" in out:
                self.notes.append(f"{where}: closed allOf part beside a typed additionalProperties")
            out["additionalProperties"] = False
            if any(
                set(properties) - set(part.get("properties", ()))
                for part in parts
                if part.get("additionalProperties") is False
            ):
                self._record("allOf extends a closed part")
        if True in nullable_votes and False not in nullable_votes:
            out["nullable"] = True
        if len(combinators) == 1:
            out.update(combinators[0])
        elif combinators:
            out["x-cmpapi-combinators"] = combinators
        return out

    # ---- relaxing (raw OAS in, JSON Schema out)

    def relax(self, node: Any, where: str) -> Any:
        if not isinstance(node, Mapping):
            return node
        if "$ref" in node:
            ref = self.def_ref(node["$ref"])
            if node.get("nullable") is True:
                return {"anyOf": [{"type": "null"}, ref]}
            return ref
        if "allOf" in node:
            node = self.flatten(node, where)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties":
                out[key] = {name: self.relax(sub, f"{where}.{name}") for name, sub in value.items()}
            elif key in ("items", "not"):
                out[key] = self.relax(value, f"{where}[]")
            elif key == "additionalProperties":
                if value is False:
                    if ("oneOf" in node or "anyOf" in node) and not node.get("properties"):
                        self._record("additionalProperties:false beside oneOf/anyOf dropped")
                        continue
                    out[key] = False
                elif value is not True:
                    out[key] = self.relax(value, f"{where}{{*}}")
            elif key == "oneOf" and node.get("discriminator", {}).get("mapping"):
                out.setdefault("allOf", []).extend(self._discriminated(node, where))
            elif key in ("oneOf", "anyOf"):
                out[key] = [self.relax(branch, f"{where}|{i}") for i, branch in enumerate(value)]
            elif key == "x-cmpapi-combinators":
                out.setdefault("allOf", []).extend(self.relax(c, where) for c in value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in node:
                    out[key] = node[bound]
            elif key in _ANNOTATIONS or key.startswith("x-"):
                continue
            elif key == "enum":
                out[key] = list(value)
            else:
                out[key] = value
        if "required" in out and "properties" in out:
            out["required"] = self._declared_required(out, where)
        if "exclusiveMinimum" in out:
            out.pop("minimum", None)
        if "exclusiveMaximum" in out:
            out.pop("maximum", None)
        if node.get("nullable") is True:
            out = self._admit_null(out)
        return out

    def _declared_required(self, out: Mapping[str, Any], where: str) -> list[str]:
        declared = [name for name in out["required"] if name in out["properties"]]
        for name in out["required"]:
            if name not in out["properties"]:
                self._record("required name without a property dropped")
                self.notes.append(f"{where}: required {name!r} names no property; dropped")
        return declared

    def _admit_null(self, out: dict[str, Any]) -> dict[str, Any]:
        self.stats["nullable converted"] += 1
        if "enum" in out and None not in out["enum"]:
            out["enum"].append(None)
        declared = out.get("type")
        if isinstance(declared, str):
            out["type"] = [declared, "null"]
            return out
        if isinstance(declared, list):
            if "null" not in declared:
                out["type"] = [*declared, "null"]
            return out
        if "enum" in out and set(out) <= {"enum"}:
            return out
        return {"anyOf": [{"type": "null"}, out]}

    def _discriminated(self, node: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
        discriminator = node["discriminator"]
        prop = discriminator["propertyName"]
        mapping: Mapping[str, str] = discriminator["mapping"]
        branch_refs = {branch.get("$ref") for branch in node["oneOf"]}
        for value, ref in mapping.items():
            if ref not in branch_refs:
                self.notes.append(
                    f"{where}: discriminator {value!r} maps outside the oneOf ({ref})"
                )
        self._record("discriminated oneOf")
        clauses: list[dict[str, Any]] = [
            {"required": [prop], "properties": {prop: {"enum": list(mapping)}}}
        ]
        clauses.extend(
            {
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": self.def_ref(ref),
            }
            for value, ref in mapping.items()
        )
        return clauses


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True, eq=False)
class DeclaredHeader:
    name: str
    schema: Any | None
    required: bool


@dataclass(frozen=True, eq=False)
class DeclaredResponse:
    status: str
    description: str
    media_types: tuple[str, ...]
    schema: Any | None
    headers: Mapping[str, DeclaredHeader]

    @property
    def has_content(self) -> bool:
        return bool(self.media_types)


@dataclass(frozen=True, eq=False)
class Operation:
    operation_id: str
    method: str
    path_template: str
    tags: tuple[str, ...]
    responses: Mapping[str, DeclaredResponse]
    _segments: tuple[re.Pattern[str] | str, ...] = field(repr=False, compare=False)
    # Its spec declares FastAPI's error bodies (FASTAPI_UNDECLARED_ERRORS).
    fastapi_errors: bool = False

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: literal segments (0) before templated ones (1), left to right."""
        return tuple(0 if isinstance(seg, str) else 1 for seg in self._segments)

    def matches_path(self, segments: tuple[str, ...]) -> bool:
        if len(segments) != len(self._segments):
            return False
        for expected, actual in zip(self._segments, segments, strict=True):
            if isinstance(expected, str):
                if expected != actual:
                    return False
            elif expected.fullmatch(actual) is None:
                return False
        return True

    def response_for(self, status: int) -> DeclaredResponse | None:
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            declared = self.responses.get(key)
            if declared is not None:
                return declared
        return None


def _compile_template(template: str) -> tuple[re.Pattern[str] | str, ...]:
    compiled: list[re.Pattern[str] | str] = []
    for segment in template.strip("/").split("/"):
        if "{" not in segment:
            compiled.append(segment)
            continue
        pattern = "".join(
            "[^/]+" if piece.startswith("{") else re.escape(piece)
            for piece in re.split(r"(\{[^}]+\})", segment)
            if piece
        )
        compiled.append(re.compile(pattern))
    return tuple(compiled)


def _path_segments(api_path: str) -> tuple[str, ...]:
    # Only the leading slash goes: "/users/abc/" keeps a trailing empty segment and so
    # matches no template, as a router without slash redirects would do.
    return tuple(api_path.removeprefix("/").split("/"))


class RelaxedView:
    """The relaxed schemas and operations of the spec, built once per process."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        self.spec = spec
        components = spec.get("components", {})
        self._relaxer = _Relaxer(components.get("schemas", {}))
        self.defs: dict[str, Any] = {}
        for name, schema in components.get("schemas", {}).items():
            self._relaxer.current = name
            self.defs[name] = self._relaxer.relax(schema, name)
        self._shared_responses: Mapping[str, Any] = components.get("responses", {})
        operations: list[Operation] = []
        for template, item in spec.get("paths", {}).items():
            for method, raw in item.items():
                if method not in _HTTP_METHODS:
                    continue
                operations.append(self._operation(template, method, raw))
        self.operations: tuple[Operation, ...] = tuple(operations)
        self.by_id: dict[str, Operation] = {op.operation_id: op for op in operations}
        self._by_length: dict[int, list[Operation]] = collections.defaultdict(list)
        for op in sorted(operations, key=lambda o: o.specificity):
            self._by_length[len(op.specificity)].append(op)
        self.rate_limited = DeclaredResponse(
            status="429",
            description="Rate limited (always allowed; not declared by the spec)",
            media_types=("application/json",),
            schema=self._relaxer.def_ref(_COMPONENT_PREFIX + "Error"),
            headers={},
        )
        # FastAPI's HTTPException body, with its one property required (the spec's schema
        # has no required list, so any object would pass).
        http_exception = dict(self._relaxer.def_ref(_COMPONENT_PREFIX + "HTTPException"))
        self.http_exception = DeclaredResponse(
            status="4XX",
            description="FastAPI error (operations declaring HTTPValidationError)",
            media_types=("application/json",),
            schema={"allOf": [http_exception, {"required": ["detail"]}]},
            headers={},
        )
        # FastAPI's request validation body, for the FastAPI-shaped operations that do not
        # declare their 422.
        self.http_validation_error = DeclaredResponse(
            status="422",
            description="FastAPI request validation error",
            media_types=("application/json",),
            schema=self._relaxer.def_ref(_COMPONENT_PREFIX + "HTTPValidationError"),
            headers={},
        )
        self.stats = self._relaxer.stats
        self.notes = self._relaxer.notes
        self.relaxed = {k: frozenset(v) for k, v in self._relaxer.relaxed.items()}
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()
        self.build_seconds = time.perf_counter() - started

    def _operation(self, template: str, method: str, raw: Mapping[str, Any]) -> Operation:
        op_id = raw.get("operationId") or f"{method.upper()} {template}"
        responses: dict[str, DeclaredResponse] = {}
        for status, declared in raw.get("responses", {}).items():
            if "$ref" in declared:
                declared = self._shared_responses[declared["$ref"].rsplit("/", 1)[-1]]
            where = f"{op_id}/{status}"
            self._relaxer.current = where
            content = declared.get("content", {})
            schema = None
            for media in content.values():
                if "schema" in media:
                    schema = self._relaxer.relax(media["schema"], where)
                    break
            headers = {
                name.lower(): DeclaredHeader(
                    name=name,
                    schema=self._relaxer.relax(spec["schema"], f"{where} header {name}")
                    if "schema" in spec
                    else None,
                    required=bool(spec.get("required", False)),
                )
                for name, spec in declared.get("headers", {}).items()
            }
            responses[str(status)] = DeclaredResponse(
                status=str(status),
                description=declared.get("description", ""),
                media_types=tuple(content),
                schema=schema,
                headers=headers,
            )
        return Operation(
            operation_id=op_id,
            method=method.upper(),
            path_template=template,
            tags=tuple(raw.get("tags", ())),
            responses=responses,
            _segments=_compile_template(template),
            fastapi_errors=template.startswith("/structured-content/")
            or "/HTTPValidationError" in json.dumps(raw.get("responses", {})),
        )

    def candidates(self, api_path: str) -> list[Operation]:
        """Operations whose template matches ``api_path`` (no /v3), most specific first."""
        segments = _path_segments(api_path)
        return [op for op in self._by_length.get(len(segments), ()) if op.matches_path(segments)]

    def find(self, method: str, api_path: str) -> Operation | None:
        method = method.upper()
        for op in self.candidates(api_path):
            if op.method == method:
                return op
        return None

    def validator(self, schema: Any, key: str | None = None) -> Draft202012Validator:
        """A validator for a relaxed schema; cached under ``key`` when one is given."""
        if key is not None:
            cached = self._validators.get(key)
            if cached is not None:
                return cached
        root: dict[str, Any] = {"$defs": self.defs}
        if isinstance(schema, Mapping):
            root.update(schema)
        elif schema is False:
            root["not"] = {}
        validator = Draft202012Validator(root, format_checker=FORMAT_CHECKER)
        if key is not None:
            with self._lock:
                self._validators.setdefault(key, validator)
        return validator

    def component_validator(self, name: str) -> Draft202012Validator:
        """Validator for the relaxed component schema ``name``."""
        if name not in self.defs:
            raise KeyError(f"no component schema {name!r} in the spec")
        ref = {"$ref": "#/$defs/" + _escape_pointer_token(name)}
        return self.validator(ref, key=f"component:{name}")

    def response_validator(self, op: Operation, declared: DeclaredResponse) -> Draft202012Validator:
        return self.validator(declared.schema, key=f"response:{op.operation_id}:{declared.status}")


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The parsed official document (raises FileNotFoundError when it is absent)."""
    if not SPEC_AVAILABLE:
        raise FileNotFoundError(
            f"official CMP OpenAPI document not found at {SPEC_PATH} (set CMPAPI_SPEC_PATH)"
        )
    with SPEC_PATH.open("rb") as handle:
        loaded: Mapping[str, Any] = json.load(handle)
    return loaded


@functools.cache
def relaxed_view() -> RelaxedView:
    return RelaxedView(load_spec())


# --------------------------------------------------------------------------- validation


def _split_path(path: str) -> str:
    if "://" in path:
        path = urlsplit(path).path
    return path.split("?", 1)[0].split("#", 1)[0]


def _api_path(path: str) -> str | None:
    """``/v3/users/abc`` -> ``/users/abc``; None for paths the harness ignores."""
    path = _split_path(path)
    if path in IGNORED_PATHS or not path.startswith(API_PREFIX + "/"):
        return None
    return path[len(API_PREFIX) :]


def find_operation(method: str, path: str) -> Operation | None:
    """The spec operation serving ``method path`` (a requested /v3 URL path), or None.

    Literal segments win over templated ones: the candidates are tried most specific first
    and the first one with the method wins. So ``POST .../managed-migrations/validate`` is
    ``validateSCContentTypeManagedMigration``, and ``GET`` on the same path falls through to
    ``GET .../managed-migrations/{job_id}``, as a router would do.
    """
    api_path = _api_path(path)
    if api_path is None:
        return None
    return relaxed_view().find(method, api_path)


def _excerpt(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def _body_excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + _escape_pointer_token(str(part)) for part in parts)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _schema_violation(
    label: str, op: Operation, status: int, errors: list[ValidationError], what: str
) -> ContractViolation:
    best = best_match(errors)
    assert best is not None
    pointer = _pointer(best.absolute_path)
    lines = [
        f"{label}: {what} violates the spec at JSON pointer {pointer or '(root)'!r}: "
        f"{best.message}",
        f"  offending value: {_excerpt(best.instance)}",
        f"  schema path: {_pointer(best.absolute_schema_path) or '(root)'}",
    ]
    others = [error for error in errors if error is not best]
    for error in others[:5]:
        lines.append(f"  also at {_pointer(error.absolute_path) or '(root)'!r}: {error.message}")
    if len(others) > 5:
        lines.append(f"  ... and {len(others) - 5} more")
    return ContractViolation(
        "\n".join(lines),
        kind="schema",
        operation_id=op.operation_id,
        status=status,
        pointer=pointer,
        detail=best.message,
    )


def _check_headers(
    view: RelaxedView,
    label: str,
    op: Operation,
    status: int,
    declared: DeclaredResponse,
    headers: Mapping[str, str],
) -> None:
    for key, header in declared.headers.items():
        value = headers.get(key)
        if value is None:
            if header.required or 300 <= status < 400:
                raise ContractViolation(
                    f"{label}: the spec declares header {header.name!r} for this response "
                    "but it is missing",
                    kind="header",
                    operation_id=op.operation_id,
                    status=status,
                )
            continue
        if header.schema is None:
            continue
        validator = view.validator(header.schema, key=f"header:{op.operation_id}:{status}:{key}")
        errors = list(validator.iter_errors(value))
        if errors:
            raise ContractViolation(
                f"{label}: header {header.name!r} value {value!r} violates the spec: "
                f"{best_match(errors).message}",
                kind="header",
                operation_id=op.operation_id,
                status=status,
            )


# Operations whose spec declares FastAPI's error bodies (``HTTPValidationError``), and every
# ``/structured-content/...`` operation (CMP serves them from a FastAPI service; some
# declare only ``HTTPException`` bodies, or no error at all), answer errors the way FastAPI
# does: the statuses below may come undeclared (the spec lists only 422 for most of them,
# yet an unknown content type is a 404) and their body is ``HTTPException``
# ``{"detail": "..."}``; an undeclared 422 is ``HTTPValidationError``. 429 keeps the CMP
# ``Error`` body as everywhere (docs/compat.md, "Structured content").
FASTAPI_UNDECLARED_ERRORS = frozenset({400, 401, 403, 404, 409, 413, 414, 431})

# Error statuses every operation may answer with the CMP ``Error`` body, declared or not.
# 413/414/431: the request bounds every operation shares (docs/compat.md#input-bounds).
ALWAYS_ALLOWED_ERRORS = frozenset({400, 413, 414, 422, 429, 431})


def validate_response(
    method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> None:
    """Raise :class:`ContractViolation` if this response breaks the spec (see module doc).

    ``path`` is the URL path as requested (``/v3/users/abc``; a query string is ignored).
    Paths outside ``/v3/`` and ``/v3/openapi.json`` are ignored.
    """
    api_path = _api_path(path)
    if api_path is None or _SUSPENDED.get():
        return
    view = relaxed_view()
    method = method.upper()
    request_label = f"{method} {API_PREFIX}{api_path} -> {status}"
    op = view.find(method, api_path)
    if op is None:
        others = sorted({f"{o.method} {o.path_template}" for o in view.candidates(api_path)})
        hint = f" (the path matches only: {', '.join(others)})" if others else ""
        raise ContractViolation(
            f"{request_label}: no operation in the spec serves this method and path{hint}",
            kind="unknown-operation",
            status=status,
        )
    label = f"{op.operation_id} ({method} {op.path_template}) {request_label}"
    if status >= 500:
        raise ContractViolation(
            f"{label}: server error; the project must never answer 5xx. "
            f"Body: {_body_excerpt(body)}",
            kind="server-error",
            operation_id=op.operation_id,
            status=status,
        )
    declared = op.response_for(status)
    if declared is None and op.fastapi_errors and status in FASTAPI_UNDECLARED_ERRORS:
        declared = view.http_exception
    elif declared is None and op.fastapi_errors and status == 422:
        declared = view.http_validation_error
    elif declared is None:
        if status not in ALWAYS_ALLOWED_ERRORS:
            raise ContractViolation(
                f"{label}: status {status} is not declared for this operation "
                f"(declared: {', '.join(op.responses)}). Body: {_body_excerpt(body)}",
                kind="undeclared-status",
                operation_id=op.operation_id,
                status=status,
            )
        declared = view.rate_limited
    lowered = {key.lower(): value for key, value in headers.items()}
    _check_headers(view, label, op, status, declared, lowered)

    if not declared.has_content:
        if body:
            raise ContractViolation(
                f"{label}: the spec declares no content for this response but the body is "
                f"{len(body)} bytes: {_body_excerpt(body)}",
                kind="unexpected-body",
                operation_id=op.operation_id,
                status=status,
            )
    else:
        content_type = lowered.get("content-type")
        if _media_type(content_type) not in declared.media_types:
            raise ContractViolation(
                f"{label}: Content-Type is {content_type!r}, the spec declares "
                f"{', '.join(declared.media_types)}",
                kind="content-type",
                operation_id=op.operation_id,
                status=status,
            )
        try:
            instance = json.loads(body, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ContractViolation(
                f"{label}: body is not valid JSON ({exc}): {_body_excerpt(body)}",
                kind="invalid-json",
                operation_id=op.operation_id,
                status=status,
            ) from None
        if declared.schema is not None:
            validator = view.response_validator(op, declared)
            errors = list(validator.iter_errors(instance))
            if errors:
                raise _schema_violation(label, op, status, errors, "body")
    VALIDATED[op.operation_id] += 1
    VALIDATED_RESPONSES[(op.operation_id, status)] += 1


def _request_path(response: httpx.Response) -> str:
    raw = response.request.url.raw_path.split(b"?", 1)[0]
    return raw.decode("ascii", errors="replace")


def _chain(response: httpx.Response) -> Iterator[httpx.Response]:
    # During an event hook ``history`` is still empty (httpx sets it after the hooks), so
    # hooks see each hop once; a final TestClient response brings its followed redirects.
    yield from response.history
    yield response


def _validate_httpx(response: httpx.Response) -> None:
    validate_response(
        response.request.method,
        _request_path(response),
        response.status_code,
        response.headers,
        response.content,
    )


def check_httpx_response(response: httpx.Response) -> None:
    """Validate an ``httpx.Response`` (and the redirects it followed).

    Works as an ``httpx.Client`` response event hook, where the body is not read yet (it
    is read here, and stays readable for the caller), and on Starlette ``TestClient``
    responses, which are ``httpx.Response`` objects already read.
    """
    for hop in _chain(response):
        hop.read()
        _validate_httpx(hop)


async def acheck_httpx_response(response: httpx.Response) -> None:
    """The ``httpx.AsyncClient`` event-hook flavour of :func:`check_httpx_response`."""
    for hop in _chain(response):
        await hop.aread()
        _validate_httpx(hop)
