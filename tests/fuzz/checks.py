"""What the fuzzer checks on every response, besides schemathesis' ``not_a_server_error``.

* :func:`documented_status`: the status is declared by the operation in the official
  document, or listed in :data:`ACCEPTED_STATUS_DEVIATIONS` (docs/compat.md, "Fuzzing").
  This replaces schemathesis' ``status_code_conformance``, which knows no deviations.
* :func:`relaxed_schema_conformance`: the response passes the project's contract harness
  (``tests/contract/spec.py``): headers, content type, strict JSON and the body against the
  *relaxed* view of the spec. schemathesis' own ``response_schema_conformance`` reads the
  document literally and so fails on two quirks of it that the harness relaxes: the
  ``oneOf`` of ``listFields`` whose branches overlap, and the ``allOf`` of
  ``listTaskAssets`` whose first part is closed (``additionalProperties: false``) while the
  second adds properties. Using the harness keeps the fuzzer and every other test on one
  reading of the spec. A status answered as a deviation must carry the CMP ``Error`` body.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.exceptions import best_match
from schemathesis import Case, CheckContext, Response

from tests.contract.spec import (
    ALWAYS_ALLOWED_ERRORS,
    FASTAPI_UNDECLARED_ERRORS,
    ContractViolation,
    relaxed_view,
    validate_response,
)

# Statuses answered although the operation does not declare them, and why, by operationId;
# "*" applies to every operation. docs/compat.md ("Fuzzing") lists the same entries, and a
# test checks it does: add an operation's deviation there and here together, or fix the
# server instead.
ACCEPTED_STATUS_DEVIATIONS: dict[str, dict[int, str]] = {
    "*": {
        400: "bad query or path parameters; a body that is not JSON (Conventions)",
        413: "request body over CMPAPI_MAX_BODY_BYTES (Input bounds)",
        414: "path plus query string over CMPAPI_MAX_HEADER_BYTES (Input bounds)",
        422: "a body that fails the schema or a rule (Conventions)",
        429: "rate limited, when CMPAPI_RATE_LIMIT is set (Rate limiting)",
        431: "request headers over CMPAPI_MAX_HEADER_BYTES (Input bounds)",
    },
}


def accepted_statuses(operation_id: str) -> set[int]:
    """Statuses an operation may answer: the declared ones and the accepted deviations."""
    op = relaxed_view().by_id[operation_id]
    declared = {int(status) for status in op.responses if status.isdigit()}
    deviations = (
        ACCEPTED_STATUS_DEVIATIONS["*"].keys()
        | ACCEPTED_STATUS_DEVIATIONS.get(operation_id, {}).keys()
    )
    if op.fastapi_errors:  # FastAPI's HTTPException statuses (docs/compat.md, "Fuzzing")
        deviations |= FASTAPI_UNDECLARED_ERRORS
    return declared | deviations


def _operation_id(case: Case) -> str:
    operation_id = case.operation.schema.get_operation_id(case.operation)
    assert operation_id is not None, case.operation.label
    return operation_id


def _headers(response: Response) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in response.headers.items()}


def documented_status(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The status is declared for the operation or an accepted deviation (5xx: see
    ``not_a_server_error``)."""
    status = response.status_code
    if status >= 500:
        return None
    operation_id = _operation_id(case)
    allowed = accepted_statuses(operation_id)
    if status not in allowed:
        raise AssertionError(
            f"{operation_id} answered {status}, which the spec does not declare and "
            f"docs/compat.md does not accept (allowed: {sorted(allowed)}). "
            f"Body: {response.content[:300]!r}"
        )
    return None


def _placeholder_path(case: Case) -> str:
    """A /v3 path that finds the case's own operation in the harness, whatever the
    generated path parameters are (empty, with dots...)."""
    path = case.operation.path
    for name in case.operation.path_parameters:
        path = path.replace("{" + name.name + "}", "fuzz-placeholder-" + name.name)
    return "/v3" + path


def _check_error_body(operation_id: str, response: Response) -> None:
    content_type = _headers(response).get("content-type", "")
    if not content_type.startswith("application/json"):
        raise AssertionError(
            f"{operation_id} {response.status_code}: Content-Type is "
            f"{content_type!r}, expected the CMP Error body"
        )
    try:
        body: Any = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{operation_id} {response.status_code}: not JSON ({exc})") from None
    errors = list(relaxed_view().component_validator("Error").iter_errors(body))
    if errors:
        raise AssertionError(
            f"{operation_id} {response.status_code}: not a CMP Error body: "
            f"{best_match(errors).message}"
        )


def relaxed_schema_conformance(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The response passes the contract harness's checks on the relaxed spec."""
    status = response.status_code
    if status >= 500:
        return None
    operation_id = _operation_id(case)
    op = relaxed_view().by_id[operation_id]
    harness_knows = status in ALWAYS_ALLOWED_ERRORS or (
        op.fastapi_errors and status in FASTAPI_UNDECLARED_ERRORS
    )
    if op.response_for(status) is None and not harness_knows:
        if status in accepted_statuses(operation_id):
            _check_error_body(operation_id, response)
        return None  # an undocumented status: documented_status reports it
    try:
        validate_response(
            case.method, _placeholder_path(case), status, _headers(response), response.content
        )
    except ContractViolation as exc:
        raise AssertionError(str(exc)) from None
    return None
