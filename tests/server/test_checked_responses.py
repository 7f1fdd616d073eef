"""``checked_response``: answers built from plain data are sent unvalidated, and checked
against their wire model where ``check_responses`` is on (the tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

import orjson
import pytest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from cmpapi.server.http.responses import AnswerMismatch, checked_response
from cmpapi.wire import Pagination, UserListResponse


class Item(BaseModel):
    """Shaped like the generated wire models."""

    model_config = ConfigDict(extra="forbid")
    id: str
    count: int
    at: AwareDatetime
    note: Annotated[str | None, Field(alias="Note")] = None


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: list[Item]
    pagination: Pagination


PAGINATION = {"next": None, "previous": None}


def item() -> dict[str, object]:
    return {"id": "a", "count": 1, "at": datetime(2026, 1, 2, 3, 4, 5, 6, UTC), "Note": None}


def test_the_json_sent_is_the_models() -> None:
    content = {"data": [item()], "pagination": PAGINATION}
    for check in (False, True):
        sent = orjson.loads(checked_response(Envelope, content, check).body)
        assert sent["data"][0]["at"] == "2026-01-02T03:04:05.000006Z"
        model = Envelope.model_validate(content)
        assert sent == orjson.loads(model.model_dump_json(by_alias=True))


def test_unchecked_answers_are_not_validated() -> None:
    broken = {"data": [{"id": "a"}], "pagination": PAGINATION}
    assert orjson.loads(checked_response(Envelope, broken, False).body)["data"] == [{"id": "a"}]


@pytest.mark.parametrize(
    "data",
    [
        [{"id": "a", "count": 1}],  # a required field missing
        [{**item(), "extra": 1}],  # a field the model does not have
        [{**item(), "count": "many"}],  # a value of the wrong type
    ],
)
def test_checked_answers_are_validated(data: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        checked_response(Envelope, {"data": data, "pagination": PAGINATION}, True)


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        ({"count": "1"}, AnswerMismatch),  # valid, but the model would send 1
        ({"count": 1.0}, AnswerMismatch),  # valid, but the model would send 1, not 1.0
        ({"Note": None, "note": None}, ValidationError),  # the name as well as the alias
        ({"at": datetime(2026, 1, 2, 3, 4, 5)}, ValidationError),  # no time zone
    ],
)
def test_checked_answers_must_be_sent_as_the_model_sends_them(
    changed: dict[str, object], error: type[Exception]
) -> None:
    data = [{**item(), **changed}]
    with pytest.raises(error):
        checked_response(Envelope, {"data": data, "pagination": PAGINATION}, True)
    sent = checked_response(Envelope, {"data": data, "pagination": PAGINATION}, False)
    assert orjson.loads(sent.body)["data"][0]["count"] == changed.get("count", 1)


class Counted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total_count: float  # the spec's "number"


def test_a_whole_number_goes_as_an_integer_where_the_model_says_float() -> None:
    for count in (0, 42):
        sent = checked_response(Counted, {"total_count": count}, True).body
        assert sent == b'{"total_count":%d}' % count
    assert checked_response(Counted, {"total_count": 2.5}, True).body == b'{"total_count":2.5}'


def test_offsets_are_kept_as_the_model_keeps_them() -> None:
    at = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    content = {"data": [{**item(), "at": at}], "pagination": PAGINATION}
    sent = orjson.loads(checked_response(Envelope, content, True).body)
    assert sent["data"][0]["at"] == "2026-01-02T04:04:05+01:00"


def test_wire_models_inside_plain_data_are_sent_as_themselves() -> None:
    page = UserListResponse.model_validate(
        {
            "data": [
                {
                    "id": "u1",
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "full_name": "Ann Lee",
                    "image_url": None,
                    "roles": [{"name": "Admin"}],
                    "links": {"self": "https://cmp.example/v3/users/u1"},
                }
            ],
            "pagination": PAGINATION,
        }
    )
    content = {"data": page.data, "pagination": page.pagination}
    sent = orjson.loads(checked_response(UserListResponse, content, True).body)
    assert sent == orjson.loads(page.model_dump_json(by_alias=True))
