"""How the SDK maps its arguments and the answers to and from the wire models, where calling
every operation on a live server (test_every_operation.py) found it wrong: an open request
schema's undeclared fields, an answer the spec leaves open, a status with its own inline
model, list items of a union."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

import httpx
import pytest

from cmpapi import wire
from cmpapi.client import Client, RequestValidationError
from cmpapi.client._models import dump
from cmpapi.client._operation_support import AnyJSON, result
from tests.support.world import World


def test_a_body_keeps_what_an_open_schema_does_not_declare() -> None:
    # migrateSCContent's schema requires content_hash without declaring it: the model
    # alone would drop it and the server would refuse the call.
    written = {
        "created_by": "u1",
        "content_hash": "abc",
        "note": {"at": datetime(2030, 1, 2, tzinfo=UTC)},
    }
    sent = dump(wire.SCContentMigrationCreateRequest, written)
    assert sent == {
        "created_by": "u1",
        "content_hash": "abc",
        "note": {"at": "2030-01-02T00:00:00Z"},
    }


def test_unknown_fields_go_to_the_server_to_judge_but_wrong_types_do_not_leave() -> None:
    """The CMP may know a field the spec does not yet; a wrong type is wrong anywhere."""
    sent = dump(wire.CommentCreateRequest, {"value": "Hi", "bogus": 1})
    assert sent == {"value": "Hi", "bogus": 1}
    with pytest.raises(RequestValidationError) as caught:
        dump(wire.CommentCreateRequest, {"value": ["not", "text"]})
    assert list(caught.value.errors) == ["value"]


def test_an_answer_the_spec_leaves_open_is_its_json() -> None:
    answer = httpx.Response(200, json={"acknowledged": True})
    assert result(answer, {200: AnyJSON}) == {"acknowledged": True}
    method = Client(token="t").structured_contents.acknowledge_sc_content_preview
    assert typing.get_type_hints(method)["return"] is typing.Any


def test_each_status_reads_its_own_inline_schema() -> None:
    """createSCContentTypeManagedMigration: 200 {created} and 201 {created, job_id}."""
    method = Client(token="t").structured_contents.create_sc_content_type_managed_migration
    returned = typing.get_args(typing.get_type_hints(method)["return"])
    assert wire.CreateSCContentTypeManagedMigrationResponse201 in returned
    models = {
        200: wire.CreateSCContentTypeManagedMigrationResponse,
        201: wire.CreateSCContentTypeManagedMigrationResponse201,
    }
    made = result(httpx.Response(201, json={"created": True, "job_id": "j1"}), models)
    assert made.job_id == "j1"
    assert made.model_extra == {}


def test_list_items_of_a_union_are_the_items_themselves(live_server: str, world: World) -> None:
    with Client(server=live_server, token=world.tokens["admin"]) as cmp:
        made = cmp.fields.create_field(body={"name": "Region", "type": "text", "is_active": True})
        items = cmp.fields.list_fields(ids=made.id).first_page().data
    # A text field is the union's first member (ListFieldsResponseData's root).
    assert [type(item) for item in items] == [wire.BaseSettingsFieldsResponse]
    assert items[0].id == made.id
