"""Fuzz every operation the server serves with schemathesis, on SQLite and PostgreSQL.

The official document (never copied here; see tests/contract/spec.py) drives generation:
valid and invalid path parameters, query strings and bodies for each of the spec's
operations that cmpapi serves (its own routes' operationIds; the others answer 404 by
design). Examples go to a live server (tests/fuzz/conftest.py) over a seeded organization
(tests/fuzz/seed.py). Before each call, most examples are aimed at real objects: path
parameters are replaced by ids of existing objects (a fresh victim for destructive
operations) and id-like body and query fields by real ids; the rest keep what schemathesis
generated, so unknown and malformed ids are fuzzed too. Which one, and whether the call is
made as the admin or the member, follows from a hash of the example: reruns are identical.
Each example is generated once and sent to every backend (``$CMPAPI_FUZZ_BACKENDS``, both
by default; PostgreSQL when it answers): generating costs about as much as sending.

Checks: ``not_a_server_error`` (schemathesis), then the project's own reading of the spec
(tests/fuzz/checks.py): ``documented_status`` and ``relaxed_schema_conformance``. A 5xx
failure carries the server's traceback as a note.

``CMPAPI_FUZZ_PROFILE`` picks the profile (tests/fuzz/profiles.py): ``bounded`` (default,
part of scripts/test) or ``long`` (scripts/fuzz), which adds a stateful run.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET

from tests.contract.spec import SPEC_AVAILABLE, SPEC_PATH
from tests.fuzz import profiles
from tests.fuzz.checks import (
    ACCEPTED_STATUS_DEVIATIONS,
    documented_status,
    relaxed_schema_conformance,
)
from tests.fuzz.conftest import CRASHES, Snapshots, Target, backends
from tests.fuzz.document import generation_document, served_operation_ids
from tests.fuzz.seed import FACTORIES, MP4, PDF, Api
from tests.support.uploads import jpeg

if not SPEC_AVAILABLE:
    pytest.skip(f"official spec not found at {SPEC_PATH}", allow_module_level=True)

PROFILE = profiles.selected()
CHECKS = [not_a_server_error, documented_status, relaxed_schema_conformance]

# Body and query fields that hold ids, and the kind of seeded object they name.
ID_FIELDS = {
    "key": "upload_key",
    "folder_id": "folder",
    "parent_folder_id": "folder",
    "workflow_id": "workflow",
    "milestone_id": "milestone",
    "campaign_id": "campaign",
    "parent_campaign": "campaign",
    "campaign": "campaign",
    "owner": "user",
    "template_id": "template",
    "template_ids": "template",
    "asset_id": "asset",
    "content_id": "asset",
    "guids": "asset",
    "task_id": "task",
    "owner_id": "user",
    "assignee_id": "user",
    "parent_comment_id": "comment",
    "field_id": "field",
    "ids": "field",
    "email": "email",
    "group": "label_group",
    "channel_id": "publishing_channel",
    "content_type_guid": "content_type",
    "allowed_content_types": "content_type",
    "content_guid": "structured_content",
    "source_content_type_version_id": "content_type_version",
    "new_content_type_version_id": "content_type_version",
    "asset_guid": "asset",
    "content_hash": "content_hash",  # acknowledgeSCContentPreview: the preview's own
}
# What a bare ``id`` (in a body item) names, per operation.
ITEM_IDS = {
    "addAssetPermissions": "user",
    "addFolderPermissions": "user",
    "replaceRelatedAssets": "asset",
    "createMilestone": "task",
    "updateMilestone": "task",
    "updateAssetFields": "field",
    "updateTaskAssetFields": "field",
    "addFieldToTask": "field",
}


SERVED = served_operation_ids()
DOCUMENT = generation_document()


def _schemas_under(node: Any, seen: set[str]) -> set[str]:
    """The component schemas ``node`` refers to, transitively."""
    for name in re.findall(r"#/components/schemas/([\w.-]+)", json.dumps(node)):
        if name not in seen:
            seen.add(name)
            _schemas_under(DOCUMENT["components"]["schemas"][name], seen)
    return seen


# Bodies that nest the structured-content unions of field values or field definitions.
UNIONS = {"TextFieldValueModel", "TextFieldDefinition"}
DEEP = {
    op["operationId"]
    for item in DOCUMENT["paths"].values()
    for op in item.values()
    if isinstance(op, dict)
    and {"TextFieldValueModel", "TextFieldDefinition"}
    & _schemas_under(op.get("requestBody"), set())
}
schema = schemathesis.openapi.from_dict(DOCUMENT, config=PROFILE.config(DEEP)).include(
    operation_id=sorted(SERVED)
)


# Real ids differ from run to run, and the coverage phase reuses values of earlier (aimed)
# examples: fingerprints see every 32-hex id as the same token.
_HEX_ID = re.compile(r"[0-9a-f]{32}")


def _fingerprint(case: schemathesis.Case) -> int:
    """A hash of what schemathesis generated, the same on every run."""
    body = None if case.body is NOT_SET else case.body  # NOT_SET's repr has an address
    text = _HEX_ID.sub("<id>", repr((case.method, case.path_parameters, case.query, body)))
    return zlib.crc32(text.encode("utf-8", "backslashreplace"))


class Aim:
    """Replaces id-like fields of one example with real ids, chosen by its fingerprint."""

    def __init__(self, target: Target, fingerprint: int, item_kind: str | None) -> None:
        self.target = target
        self.fingerprint = fingerprint
        self.item_kind = item_kind

    def real_id(self, kind: str, salt: str) -> str | None:
        if kind == "upload_key":
            # Task assets, drafts and attachments take a key once: upload a fresh file.
            data = (jpeg(8, 8), PDF, MP4)[zlib.crc32(salt.encode()) % 3]
            return Api(self.target.http, self.target.seed.tokens["admin"]).upload(data, "f")
        ids = self.target.seed.ids.get(kind) or []
        if not ids:
            return None
        return ids[zlib.crc32(f"{self.fingerprint}:{salt}".encode()) % len(ids)]

    def __call__(self, value: Any, where: str = "") -> Any:
        """``value`` with the strings of id-like fields replaced."""
        if isinstance(value, list):
            return [self(x, f"{where}/{n}") for n, x in enumerate(value)]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            kind = ID_FIELDS.get(key) or (self.item_kind if key == "id" else None)
            if key == "values" and "group" in value:  # a label: {"group", "values"}
                kind = "label_value"
            here = f"{where}/{key}"
            if kind and isinstance(item, str):
                out[key] = self.real_id(kind, here) or item
            elif kind and isinstance(item, list) and all(isinstance(x, str) for x in item):
                out[key] = [self.real_id(kind, f"{here}/{n}") or x for n, x in enumerate(item)]
            else:
                out[key] = self(item, here)
        return out


def prepare(case: schemathesis.Case, target: Target, *, paths: bool = True) -> str:
    """Aim the case at real objects (most of the time); who makes the call.

    ``paths=False`` leaves the path parameters alone (stateful steps take them from links).
    """
    fingerprint = _fingerprint(case)
    operation_id = case.operation.schema.get_operation_id(case.operation) or ""
    seed = target.seed
    if paths and case.operation.path_parameters and fingerprint % 8:
        factory = FACTORIES.get(operation_id)
        pool = seed.pools.get(case.operation.path) or []
        if factory is not None:
            aimed = factory(Api(target.http, seed.tokens["admin"]), seed)
        elif pool:
            aimed = pool[(fingerprint >> 8) % len(pool)]
        else:
            aimed = {}
        case.path_parameters = {**(case.path_parameters or {}), **aimed}
    if (fingerprint >> 3) % 4:
        aim = Aim(target, fingerprint, ITEM_IDS.get(operation_id))
        if case.query:
            case.query = aim(case.query)
        if case.body is not NOT_SET:
            case.body = aim(case.body)
    return "member" if (fingerprint >> 5) % 5 == 0 else "admin"


def _text(body: bytes | str | None, limit: int) -> str:
    if isinstance(body, bytes):
        return body[:limit].decode("utf-8", "replace")
    return (body or "")[:limit]


def _log(target: Target, who: str, response: schemathesis.Response) -> None:
    """One JSON line per call in ``$CMPAPI_FUZZ_LOG``, when set (what was covered)."""
    path = os.environ.get("CMPAPI_FUZZ_LOG")
    if not path:
        return
    request = response.request
    line = {
        "backend": target.backend,
        "who": who,
        "method": request.method,
        "url": request.url,
        "body": _text(request.body, 500),
        "status": response.status_code,
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


SURVEYED: list[dict[str, Any]] = []  # failures recorded in survey mode, this process


def _survey(
    case: schemathesis.Case,
    response: schemathesis.Response,
    target: Target,
    who: str,
    exc: BaseException,
) -> None:
    """Survey mode (``$CMPAPI_FUZZ_SURVEY``): record a failure as a JSON line and go on."""
    failures = getattr(exc, "exceptions", [exc])
    record = {
        "backend": target.backend,
        "operation": case.operation.label,
        "who": who,
        "status": response.status_code,
        "checks": [getattr(f, "title", type(f).__name__) for f in failures],
        "messages": [getattr(f, "message", str(f))[:1500] for f in failures],
        "request": {
            "method": case.method,
            "url": response.request.url,
            "body": _text(response.request.body, 3000),
        },
        "response": response.content[:500].decode("utf-8", "replace"),
        "server_log": [note[-20000:] for note in getattr(exc, "__notes__", [])],
    }
    SURVEYED.append(record)
    with open(os.environ["CMPAPI_FUZZ_SURVEY"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def check(
    case: schemathesis.Case, response: schemathesis.Response, target: Target, who: str, mark: int
) -> None:
    """Run the checks; a failure gets the tracebacks the server logged since ``mark``."""
    _log(target, who, response)
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as exc:
        for crash in CRASHES.since(mark):
            exc.add_note(f"Server log ({target.backend}, as {who}):\n{crash}")
        if os.environ.get("CMPAPI_FUZZ_SURVEY"):
            _survey(case, response, target, who, exc)
            return
        raise


@pytest.fixture(autouse=True)
def _survey_verdict() -> Iterator[None]:
    """In survey mode a test runs all its examples; it fails afterwards if any failed."""
    before = len(SURVEYED)
    yield
    found = SURVEYED[before:]
    if found:
        kinds = sorted({f"{f['status']} {', '.join(f['checks'])}" for f in found})
        pytest.fail(f"{len(found)} failing examples (see $CMPAPI_FUZZ_SURVEY): {kinds}")


def _clone(case: schemathesis.Case) -> schemathesis.Case:
    """A copy to aim at one backend. schemathesis keeps the cases it generated and builds
    later ones on them (the coverage phase does), so aiming them in place would leak one
    backend's ids into the other's request and into later examples."""
    return schemathesis.Case(
        operation=case.operation,
        method=case.method,
        path=case.path,
        path_parameters=dict(case.path_parameters or {}),
        headers=case.headers.copy() if case.headers is not None else None,
        cookies=dict(case.cookies or {}),
        query=dict(case.query or {}),
        body=case.body,  # never changed in place: Aim builds new containers
        media_type=case.media_type,
        multipart_content_types=case.multipart_content_types,
        meta=copy.deepcopy(case.meta),
    )


@schema.parametrize()
def test_operation(case: schemathesis.Case, fuzz_targets: list[Target]) -> None:
    """Each example goes to every backend: generating it costs about as much as sending it,
    so it is generated once."""
    for target in fuzz_targets:
        aimed = _clone(case)
        who = prepare(aimed, target)
        mark = CRASHES.count
        response = aimed.call(base_url=target.base_url, headers=target.seed.auth(who), timeout=60)
        check(aimed, response, target, who, mark)


@pytest.mark.skipif(not PROFILE.stateful, reason="the long profile runs stateful scenarios")
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_stateful(backend: str, fuzz_snapshots: Snapshots) -> None:
    """Scenarios chaining operations through the links schemathesis infers (the spec
    declares none): ids from one response feed the next request.

    Failures are collected and reported at the end rather than raised: the server's state
    changes under every scenario, so Hypothesis could not replay or shrink a failing one.
    """
    if backend not in backends():
        pytest.skip(f"{backend} is not fuzzed here (CMPAPI_FUZZ_BACKENDS, PostgreSQL reachable)")
    with fuzz_snapshots.scratch(backend) as target:
        _run_stateful(target)


def _run_stateful(target: Target) -> None:
    failures: dict[str, str] = {}

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        mark = 0
        scenarios = 0  # finished so far, over every suite

        def teardown(self) -> None:
            type(self).scenarios += 1
            super().teardown()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": target.base_url, "headers": target.seed.auth(), "timeout": 60}

        def before_call(self, case: schemathesis.Case) -> None:
            prepare(case, target, paths=False)
            self.mark = CRASHES.count

        def validate_response(  # type: ignore[override]
            self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            try:
                check(case, response, target, "admin", self.mark)
            except BaseException as exc:  # a FailureGroup: keep the first of each kind
                key = f"{case.operation.label} -> {response.status_code}"
                failures.setdefault(key, "\n".join([str(exc), *getattr(exc, "__notes__", [])]))

    # As schemathesis' own runner does: only generate (a failing scenario cannot be
    # replayed on a server whose state moved on), and start a new suite with the next seed
    # when Hypothesis notices that a scenario prefix no longer behaves as it did.
    suite = 0
    while Machine.scenarios < PROFILE.stateful_scenarios and suite < 50:
        settings = hypothesis.settings(
            max_examples=PROFILE.stateful_scenarios - Machine.scenarios,
            stateful_step_count=PROFILE.stateful_steps,
            phases=[hypothesis.Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        with contextlib.suppress(hypothesis.errors.Flaky):
            hypothesis.seed(PROFILE.seed + suite)(Machine).run(settings=settings)
        suite += 1
    report = "\n\n".join(f"=== {key}\n{text}" for key, text in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct stateful failures:\n\n{report}"


def test_served_operations_are_fuzzed() -> None:
    """Every served spec operation is in the fuzzed schema (106 of 170 when written)."""
    fuzzed = {
        result.ok().schema.get_operation_id(result.ok()) for result in schema.get_all_operations()
    }
    assert fuzzed == SERVED
    assert len(SERVED) >= 100


def test_deviations_are_documented() -> None:
    """The accepted deviations are the ones docs/compat.md lists, section "Fuzzing"."""
    compat = Path(__file__).parents[2] / "docs" / "compat.md"
    section = compat.read_text(encoding="utf-8").split("\n## Fuzzing", 1)
    assert len(section) == 2, "docs/compat.md has no '## Fuzzing' section"
    rows = set(re.findall(r"^\| `?([*\w]+)`? \| `?(\d{3})`? \|", section[1], re.MULTILINE))
    listed = {
        (op, str(status))
        for op, statuses in ACCEPTED_STATUS_DEVIATIONS.items()
        for status in statuses
    }
    assert listed <= rows, f"missing from docs/compat.md: {sorted(listed - rows)}"
    assert rows <= listed, f"missing from ACCEPTED_STATUS_DEVIATIONS: {sorted(rows - listed)}"
