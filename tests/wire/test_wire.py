"""Checks of the generated wire models (``cmpapi.wire``) against the official spec.

The spec is another project's file (``../shared/spec/cmp-openapi-v3.json`` seen from the
repository root, or ``$CMPAPI_SPEC_PATH``); without it the whole module is skipped.
"""

from __future__ import annotations

import copy
import enum
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import types
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, RootModel, ValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
_ENV_SPEC = os.environ.get("CMPAPI_SPEC_PATH")
SPEC_PATH = (
    Path(_ENV_SPEC) if _ENV_SPEC else REPO_ROOT.parent / "shared" / "spec" / "cmp-openapi-v3.json"
)
if not SPEC_PATH.is_file():
    pytest.skip(f"CMP spec not found at {SPEC_PATH}", allow_module_level=True)

import cmpapi.wire as wire  # noqa: E402
from cmpapi.wire import models  # noqa: E402

SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
COMPONENT_PREFIX = "#/components/schemas/"
# Names that deliberately end in a digit: they carry the HTTP status code.
STATUS_CODE_NAMES = re.compile(r".*Response(201|404)$")
NO_EXAMPLE = object()


def class_name(schema_name: str) -> str:
    """Generated class name of a component schema (``error_reason`` becomes ``ErrorReason``)."""
    if schema_name[:1].isupper():
        return schema_name
    return "".join(part[:1].upper() + part[1:] for part in schema_name.split("_"))


def generated_classes() -> dict[str, type]:
    """Classes defined in the generated module (not parametrised generics like RootModel[str])."""
    return {
        name: obj
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and obj.__module__ == models.__name__ and name.isidentifier()
    }


def ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and str(node.get("$ref", "")).startswith(COMPONENT_PREFIX):
        return str(node["$ref"])[len(COMPONENT_PREFIX) :]
    return None


def walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def chain(name: str) -> list[dict[str, Any]]:
    """The schema and every part of its ``allOf`` chain, bases first."""
    out: list[dict[str, Any]] = []
    schema = SCHEMAS[name]
    for part in schema.get("allOf", []):
        base = ref_name(part)
        out.extend(chain(base) if base else [part])
    out.append(schema)
    return out


def chain_names(name: str) -> set[str]:
    names = {name}
    for part in SCHEMAS[name].get("allOf", []):
        base = ref_name(part)
        if base:
            names |= chain_names(base)
    return names


@cache
def union_branches_closed_by_parent() -> frozenset[str]:
    """``$ref`` branches of a ``oneOf``/``anyOf`` that sits beside additionalProperties: false."""
    found: set[str] = set()
    for node in walk(SPEC):
        if isinstance(node, dict) and node.get("additionalProperties") is False:
            for keyword in ("oneOf", "anyOf"):
                found |= {n for n in map(ref_name, node.get(keyword, [])) if n}
    return frozenset(found)


def expected_extra(name: str) -> str | None:
    """``extra`` config the spec calls for: forbid / allow / None (pydantic's default)."""
    if any(part.get("additionalProperties") is False for part in chain(name)):
        return "forbid"
    if chain_names(name) & union_branches_closed_by_parent():
        return "forbid"
    own = SCHEMAS[name].get("additionalProperties")
    if own is True or isinstance(own, dict):
        return "allow"
    return None


@cache
def discriminator_fields() -> frozenset[tuple[str, str]]:
    """(branch schema, tag property) pairs of every discriminated ``oneOf``: the generator makes
    the tag a required Literal in the branch, which the discriminated union needs."""
    pairs: set[tuple[str, str]] = set()
    for node in walk(SPEC):
        if isinstance(node, dict) and isinstance(node.get("discriminator"), dict):
            prop = node["discriminator"]["propertyName"]
            refs = [*node.get("oneOf", []), *node.get("anyOf", [])]
            refs += [{"$ref": r} for r in node["discriminator"].get("mapping", {}).values()]
            pairs |= {(n, prop) for n in map(ref_name, refs) if n}
    return frozenset(pairs)


def merged_properties(name: str) -> tuple[dict[str, Any], set[str]]:
    props: dict[str, Any] = {}
    required: set[str] = set()
    for part in chain(name):
        props.update(part.get("properties", {}))
        required |= set(part.get("required", []))
    return props, required


def fields_by_alias(cls: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or n): f for n, f in cls.model_fields.items()}


def admits_none(tp: Any) -> bool:
    if tp is None or tp is type(None) or tp is Any:
        return True
    if inspect.isclass(tp) and issubclass(tp, RootModel):
        return admits_none(tp.model_fields["root"].annotation)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(admits_none(arg) for arg in get_args(tp))
    if origin is Annotated:
        return admits_none(get_args(tp)[0])
    if origin is Literal:
        return None in get_args(tp)
    return False


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    name = ref_name(node)
    return SCHEMAS[name] if name else node


def example_of(schema: dict[str, Any]) -> Any:
    """Instance built from the spec's ``example`` values (every property that has one)."""
    schema = resolve(schema)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_of(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if schema.get("type") == "object" or "properties" in schema:
        out = {}
        for prop, sub in schema.get("properties", {}).items():
            value = example_of(sub)
            if value is not NO_EXAMPLE:
                out[prop] = value
        return out
    if schema.get("type") == "array":
        item = example_of(schema.get("items", {}))
        return [] if item is NO_EXAMPLE else [item]
    return NO_EXAMPLE


def operation(operation_id: str) -> dict[str, Any]:
    for item in SPEC["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def dump(instance: BaseModel) -> Any:
    return instance.model_dump(mode="json", by_alias=True)


# --------------------------------------------------------------------------- (a) drift


def test_generated_module_matches_a_fresh_generation() -> None:
    if importlib.util.find_spec("datamodel_code_generator") is None:
        pytest.skip("datamodel-code-generator is not installed")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_wire.py"), "--check"],
        cwd=REPO_ROOT,
        env={**os.environ, "CMPAPI_SPEC_PATH": str(SPEC_PATH)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- (b) names


def test_spec_has_359_component_schemas() -> None:
    assert len(SCHEMAS) == 359


def test_every_component_schema_is_importable() -> None:
    missing = [name for name in SCHEMAS if not hasattr(wire, class_name(name))]
    assert missing == []
    assert issubclass(wire.ErrorReason, enum.Enum)
    assert {m.value for m in wire.ErrorReason} == set(SCHEMAS["error_reason"]["enum"])


def test_operation_models_exist() -> None:
    for name in (
        "ListTasksResponse",
        "ListTeamsResponse",
        "UserListResponse",
        "ListUsersParametersQuery",
        "ListTeamsParametersQuery",
        "FindUserByEmailParametersQuery",
        "GetUploadUrlResponse",
        "GetUploadUrlResponseUploadMetaFields",
    ):
        assert issubclass(getattr(wire, name), BaseModel), name


# --------------------------------------------------------------------------- (c) extras


def test_extra_config_matches_additional_properties() -> None:
    classes = generated_classes()
    mismatches = []
    checked = 0
    for name, schema in SCHEMAS.items():
        cls = classes[class_name(name)]
        if issubclass(cls, RootModel):
            # A closed oneOf/anyOf: the branches carry the closure (checked as components).
            if schema.get("additionalProperties") is False:
                assert "oneOf" in schema or "anyOf" in schema, name
            continue
        if not issubclass(cls, BaseModel):
            continue
        checked += 1
        got = cls.model_config.get("extra")
        want = expected_extra(name)
        if got != want and not (want is None and got == "ignore"):
            mismatches.append((name, got, want))
    assert mismatches == []
    assert checked > 250


def test_union_branches_reject_unknown_keys() -> None:
    branches = union_branches_closed_by_parent()
    assert "StringTypeObjectField" in branches
    classes = generated_classes()
    for name in branches:
        cls = classes[class_name(name)]
        assert issubclass(cls, BaseModel), name
        assert cls.model_config.get("extra") == "forbid", name
    with pytest.raises(ValidationError, match="extra_forbidden"):
        wire.AssetFieldsUpdateRequest.model_validate(
            [{"id": "f1", "type": "text", "values": ["x"], "bogus": 1}]
        )


def test_error_keeps_extra_keys() -> None:
    body = {"message": "Bad", "errors": {"title": ["required"]}, "request_id": "r1"}
    assert dump(wire.Error.model_validate(body)) == body


# --------------------------------------------------------------------------- (d) class names


def test_no_numbered_class_names() -> None:
    numbered = sorted(
        name
        for name in generated_classes()
        if name[-1].isdigit() and not STATUS_CODE_NAMES.fullmatch(name)
    )
    assert numbered == []
    assert hasattr(wire, "CreateSCContentTypeManagedMigrationResponse201")
    assert hasattr(wire, "ValidateSCContentTypeManagedMigrationResponse404")


# --------------------------------------------------------------------------- (e) nullability


def test_required_and_optional_fields_follow_the_spec() -> None:
    classes = generated_classes()
    problems = []
    checked = 0
    for name in SCHEMAS:
        cls = classes[class_name(name)]
        if not issubclass(cls, BaseModel) or issubclass(cls, RootModel):
            continue
        props, required = merged_properties(name)
        fields = fields_by_alias(cls)
        for prop, sub in props.items():
            field = fields.get(prop)
            if field is None:
                problems.append((name, prop, "no field"))
                continue
            checked += 1
            # A nullable beside a $ref is honoured (the spec's intended meaning).
            nullable = bool(sub.get("nullable", resolve(sub).get("nullable", False)))
            if prop in required:
                if not field.is_required():
                    problems.append((name, prop, "should be required"))
                if nullable and not admits_none(field.annotation):
                    problems.append((name, prop, "should accept None"))
            elif field.is_required() and (name, prop) not in discriminator_fields():
                problems.append((name, prop, "should be optional"))
            if not nullable and "type" in resolve(sub) and admits_none(field.annotation):
                problems.append((name, prop, "should reject None"))
    assert problems == []
    assert checked > 1000


def test_pagination_is_required_and_nullable() -> None:
    with pytest.raises(ValidationError, match="previous"):
        wire.Pagination.model_validate({"next": None})
    assert dump(wire.Pagination(next=None, previous=None)) == {"next": None, "previous": None}


def test_minimal_user_response_omits_unset_optionals() -> None:
    user = wire.UserResponse(
        id="u1",
        first_name="John",
        last_name="Doe",
        full_name="John Doe",
        email=None,
        image_url=None,
    )
    assert dump(user) == {
        "id": "u1",
        "first_name": "John",
        "last_name": "Doe",
        "full_name": "John Doe",
        "email": None,
        "image_url": None,
    }
    with pytest.raises(ValidationError, match="email"):
        wire.UserResponse.model_validate(
            {"id": "u1", "first_name": "J", "last_name": "D", "full_name": "J D", "image_url": None}
        )
    with pytest.raises(ValidationError, match="links"):
        wire.UserResponse.model_validate(
            {
                "id": "u1",
                "first_name": "J",
                "last_name": "D",
                "full_name": "J D",
                "email": None,
                "image_url": None,
                "links": None,
            }
        )


def test_minimal_team_and_error() -> None:
    team = {"id": "t1", "name": "Team", "links": {"self": "https://example.test/v3/teams/t1"}}
    assert dump(wire.Team.model_validate(team)) == team
    assert dump(wire.Error(message="Not found")) == {"message": "Not found"}
    with pytest.raises(ValidationError, match="errors"):
        wire.Error.model_validate({"message": "x", "errors": None})


def test_envelopes_share_pagination() -> None:
    page = wire.Pagination(next=None, previous=None)
    team = wire.Team.model_validate({"id": "t1", "name": "T", "links": {"self": "s"}})
    envelope = wire.ListTeamsResponse(data=[team], pagination=page)
    assert dump(envelope)["pagination"] == {"next": None, "previous": None}
    for name in ("ListTasksResponse", "ListTeamsResponse", "UserListResponse"):
        assert getattr(wire, name).model_fields["pagination"].annotation is wire.Pagination
    subclasses = sorted(
        name
        for name, cls in generated_classes().items()
        if cls is not wire.Pagination and issubclass(cls, wire.Pagination)
    )
    assert subclasses == []


# --------------------------------------------------------------------------- (f) round trips


@pytest.mark.parametrize(
    "name", ["UserListResponseItem", "UserResponse", "TeamWithUsers", "Error", "UserListResponse"]
)
def test_component_example_round_trip(name: str) -> None:
    instance = example_of(SCHEMAS[name])
    assert instance, name
    assert dump(getattr(wire, name).model_validate(instance)) == instance


def test_list_teams_example_round_trip() -> None:
    schema = operation("listTeams")["responses"]["200"]["content"]["application/json"]["schema"]
    instance = example_of(schema)
    assert instance["pagination"] == {
        "next": "https://api.cmp.optimizely.com/v3/teams?offset=10&page_size=10",
        "previous": None,
    }
    assert len(instance["data"]) == 1
    model = wire.ListTeamsResponse.model_validate(instance)
    assert type(model.pagination) is wire.Pagination
    assert dump(model) == instance
    assert json.loads(model.model_dump_json(by_alias=True)) == instance


def test_upload_meta_fields_use_aliases() -> None:
    schema = operation("getUploadUrl")["responses"]["200"]["content"]["application/json"]["schema"]
    instance = example_of(schema)
    model = wire.GetUploadUrlResponse.model_validate(instance)
    assert model.upload_meta_fields.x_amz_algorithm == "AWS4-HMAC-SHA256"
    assert dump(model) == instance
