"""The field-values API other resources use (``resources/fields/values.py``), on real rows
of both databases; rendered values are checked against the spec's component schemas."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.fields.values import ASSET_FIELD_TYPES, ValueInput
from cmpapi.wire import (
    AssetFieldListResponseItem,
    AssetFieldsUpdateRequest,
    AssetFieldUpdateRequest,
    FieldListResponseItem,
)
from tests.contract.spec import SPEC_AVAILABLE, relaxed_view
from tests.resources.test_fields import BODIES, make_field
from tests.support.world import World, build_world

ORG_FIELDS = sorted(BODIES)


@pytest.fixture
def fields(db: Session, world: World) -> dict[str, Field]:
    """One field of every type in the world's organization, keyed by type."""
    return {t: make_field(db, world.org.id, t) for t in ORG_FIELDS}


def check(fields: dict[str, Field], *items: tuple[str, list[Any]], **kw: Any) -> list[Any]:
    """Normalise ``(type, values)`` items against the fixture's fields; the stored values."""
    inputs = [ValueInput(fields[t].id, t, v, f"{n}.") for n, (t, v) in enumerate(items)]
    by_id = {f.id: f for f in fields.values()}
    return [fv.values for fv in values.normalise_values(by_id, inputs, **kw)]


def errors_of(fields: dict[str, Field], *items: tuple[str, list[Any]], **kw: Any) -> Any:
    with pytest.raises(Invalid) as caught:
        check(fields, *items, **kw)
    assert caught.value.message == "Invalid field values"
    return caught.value.errors


def spec_valid(component: str, model: BaseModel) -> None:
    if SPEC_AVAILABLE:
        instance = model.model_dump(mode="json", by_alias=True)
        errors = list(relaxed_view().component_validator(component).iter_errors(instance))
        assert not errors, (component, instance, errors[0].message)


def test_values_are_normalised_per_kind(fields: dict[str, Field]) -> None:
    one, two = (c.id for c in fields["checkbox"].choices)
    red, blue = (c.id for c in fields["label"].choices)
    stored = check(
        fields,
        ("text", ["Hello"]),
        ("rich_text", ["<p>Hi</p>"]),
        ("checkbox", [two, one, two]),
        ("label", [blue, red]),
        ("simple_number", [12.5]),
        ("currency_number", [100]),
        ("percentage_number", [1e-7]),
        ("date", ["2020-02-10T12:40:45.123+02:00"]),
        ("image", [{"key": "k1", "title": "Sample.jpeg"}]),
        ("radio_button", []),
    )
    assert stored == [
        ["Hello"],
        ["<p>Hi</p>"],
        [two, one],
        [blue, red],
        ["12.5"],
        ["100"],
        ["0.0000001"],
        ["2020-02-10T10:40:45Z"],
        [{"key": "k1", "title": "Sample.jpeg"}],
        [],
    ]


@pytest.mark.parametrize(
    ("type_", "raw", "message"),
    [
        ("text", [1], "Value 0: expected a string"),
        ("text", ["a", "b"], "At most 1 value allowed"),
        ("radio_button", ["nope"], "Value 0: 'nope' is not a choice id of this field"),
        ("simple_number", ["5"], "Value 0: expected a number"),
        ("simple_number", [True], "Value 0: expected a number"),
        ("simple_number", [1e16], "Value 0: expected a number between -1e+15 and 1e+15"),
        ("simple_number", [1, 2], "At most 1 value allowed"),
        ("date", ["2020-02-10T10:40:45"], "Value 0: expected a date-time with a timezone"),
        ("date", ["yesterday"], "Value 0: expected an ISO 8601 date-time"),
        ("date", [1581331245], "Value 0: expected a date-time with a timezone"),
        ("video", [{"key": "k"}], "Value 0: expected {key, title} of an upload"),
        ("video", ["k"], "Value 0: expected {key, title} of an upload"),
    ],
)
def test_bad_values_name_the_item(
    fields: dict[str, Field], type_: str, raw: list[Any], message: str
) -> None:
    errors = errors_of(fields, ("text_area", ["fine"]), (type_, raw))
    assert list(errors) == ["1.values"]
    assert errors["1.values"].startswith(message)


def test_value_limits_follow_the_field(db: Session, fields: dict[str, Field]) -> None:
    dropdown, label = fields["dropdown"], fields["label"]
    both = [c.id for c in dropdown.choices]
    assert errors_of(fields, ("dropdown", both)) == {"0.values": "At most 1 value allowed"}
    check(fields, ("label", [c.id for c in label.choices]))  # multi-select
    check(fields, ("checkbox", [c.id for c in fields["checkbox"].choices]))
    dropdown.is_multi_select = True
    assert check(fields, ("dropdown", both)) == [both]


def test_field_errors_are_collected(db: Session, world: World, fields: dict[str, Field]) -> None:
    fields["date"].is_active = False
    other = make_field(db, build_world(db, org_name="Other", prefix="o-").org.id, "text", "Theirs")
    inputs = [
        ValueInput("0" * 32, "text", ["x"], "0."),
        ValueInput(fields["text_area"].id, "text", ["x"], "1."),
        ValueInput(fields["date"].id, "date", [], "2."),
        ValueInput(fields["text"].id, "text", ["x"], "3."),
        ValueInput(fields["text"].id, "text", ["y"], "4."),
        ValueInput(other.id, "text", ["x"], "5."),
        ValueInput(fields["image"].id, "image", [], "6."),
    ]
    with pytest.raises(Invalid) as caught:
        values.validate_field_values(db, world.org.id, inputs, types=ASSET_FIELD_TYPES)
    assert caught.value.errors == {
        "0.id": "Unknown field",
        "1.type": "The field is of type text_area",
        "2.id": "The field is inactive",
        "4.id": "Field given more than once",
        "5.id": "Unknown field",
        "6.type": "image fields cannot be set here",
    }


def test_uploads_can_be_checked(fields: dict[str, Field]) -> None:
    file = {"key": "known", "title": "A"}
    assert check(fields, ("video", [file]), known_upload={"known"}.__contains__) == [[file]]
    errors = errors_of(fields, ("video", [{**file, "key": "x"}]), known_upload=lambda k: False)
    assert errors == {"0.values": "Value 0: unknown upload key 'x'"}


def test_inputs_from_the_wire_bodies(db: Session, world: World, fields: dict[str, Field]) -> None:
    date, number, image = fields["date"], fields["simple_number"], fields["image"]
    body = AssetFieldsUpdateRequest.model_validate(
        [
            {"id": date.id, "type": "date", "values": ["2020-02-10T10:40:45Z"]},
            {"id": image.id, "type": "image", "values": [{"key": "k", "title": "t"}]},
        ]
    )
    inputs = values.inputs_from_items(body.root)
    assert [(i.field_id, i.where) for i in inputs] == [(date.id, "0."), (image.id, "1.")]
    # A single payload arrives typed (floats, datetimes, models): same results.
    one = AssetFieldUpdateRequest.model_validate({"type": "simple_number", "values": [3]})
    inputs.append(values.input_from_payload(number.id, one))
    one = AssetFieldUpdateRequest.model_validate(
        {"type": "date", "values": ["2020-02-10T10:40:45Z"]}
    )
    checked = values.validate_field_values(db, world.org.id, inputs)
    assert [fv.values for fv in checked] == [
        ["2020-02-10T10:40:45Z"],
        [{"key": "k", "title": "t"}],
        ["3"],
    ]
    fv = values.validate_field_value(db, world.org.id, date.id, one, types=ASSET_FIELD_TYPES)
    assert fv.values == ["2020-02-10T10:40:45Z"]


def test_single_payload_for_a_field_in_the_path(
    db: Session, world: World, fields: dict[str, Field]
) -> None:
    org, image = world.org.id, fields["image"]
    payload = AssetFieldUpdateRequest.model_validate({"type": "image", "values": []})
    with pytest.raises(Invalid) as caught:
        values.validate_field_value(db, org, image.id, payload, types=ASSET_FIELD_TYPES)
    assert caught.value.errors == {"type": "image fields cannot be set here"}
    assert values.validate_field_value(db, org, image.id, payload).values == []
    with pytest.raises(NotFound):
        values.validate_field_value(db, org, "0" * 32, payload)
    image.is_active = False
    with pytest.raises(NotFound):
        values.validate_field_value(db, org, image.id, payload)


def test_replace_set_list_and_delete(db: Session, world: World, fields: dict[str, Field]) -> None:
    org = world.org.id
    text, date, number = fields["text"], fields["date"], fields["simple_number"]

    def put(*items: tuple[Field, list[Any]]) -> None:
        inputs = [ValueInput(f.id, f.type, v) for f, v in items]
        values.replace_field_values(
            db, org, "asset", "a1", values.validate_field_values(db, org, inputs)
        )
        db.commit()

    def stored(owner_id: str = "a1") -> list[tuple[str, list[Any]]]:
        return [
            (fv.field.type, fv.values)
            for fv in values.owner_field_values(db, org, "asset", owner_id)
        ]

    put((date, ["2021-01-01T00:00:00Z"]), (text, ["hello"]))
    assert stored() == [("date", ["2021-01-01T00:00:00Z"]), ("text", ["hello"])]
    put((text, ["bye"]), (number, [2]))
    assert stored() == [("text", ["bye"]), ("simple_number", ["2"])]
    # An inactive field is neither listed nor replaced away; it comes back when reactivated.
    number.is_active = False
    put((text, ["again"]))
    assert stored() == [("text", ["again"])]
    number.is_active = True
    assert stored() == [("text", ["again"]), ("simple_number", ["2"])]
    # One field at a time: update in place, or append.
    (fv,) = values.validate_field_values(db, org, [ValueInput(date.id, "date", [])])
    values.set_field_value(db, org, "asset", "a1", fv)
    (fv,) = values.validate_field_values(db, org, [ValueInput(text.id, "text", ["x"])])
    values.set_field_value(db, org, "asset", "a1", fv)
    assert stored() == [("text", ["x"]), ("simple_number", ["2"]), ("date", [])]
    # Owners are (type, id): nothing leaks across.
    assert stored("a2") == [] and values.owner_field_values(db, org, "task", "a1") == []
    page = values.list_field_values(db, org, "asset", "a1", offset=1, page_size=1)
    assert [fv.field.id for fv in page.items] == [number.id] and page.has_next and page.has_previous
    values.delete_field_values(db, org, "asset", "a1")
    assert stored() == []


@pytest.mark.parametrize("type_", ORG_FIELDS)
def test_rendered_values_are_spec_valid(fields: dict[str, Field], type_: str) -> None:
    field = fields[type_]
    raw = {
        "text": ["t"],
        "text_area": ["t"],
        "rich_text": ["<b>t</b>"],
        "video": [],
        "date": ["2020-01-01T00:00:00Z"],
        "image": [{"key": "k", "title": "t"}],
        "simple_number": [1234.5],
        "percentage_number": [12.25],
        "currency_number": [7],
    }.get(type_)
    raw = [field.choices[0].id] if raw is None else raw
    (fv,) = values.normalise_values({field.id: field}, [ValueInput(field.id, type_, raw)])
    item = values.render_item(AssetFieldListResponseItem, fv, file_url=lambda k: f"https://f/{k}")
    spec_valid("AssetFieldListResponseItem", item)
    spec_valid("FieldListResponseItem", values.render_item(FieldListResponseItem, fv))
    dumped = item.model_dump(mode="json")
    assert (dumped["id"], dumped["type"]) == (field.id, type_)
    expected = {
        "simple_number": ["1234.50"],
        "percentage_number": ["12.3"],
        "currency_number": ["7.00"],
        "image": ["https://f/k"],
    }
    assert dumped["values"] == expected.get(type_, [str(v) for v in raw])
    if field.choices:
        assert dumped["choices"] == [{"id": c.id, "name": c.name} for c in field.choices]


def test_asset_field_update_response(fields: dict[str, Field]) -> None:
    field = fields["radio_button"]
    (fv,) = values.normalise_values(
        {field.id: field}, [ValueInput(field.id, "radio_button", [field.choices[1].id])]
    )
    answer = values.asset_field_update_response(
        fv, asset_url="https://t/v3/assets/a1", asset_fields_url="https://t/v3/assets/a1/fields"
    )
    spec_valid("AssetFieldUpdateResponse", answer)
    assert answer.values == [field.choices[1].id]
    assert {"image", "video"}.isdisjoint(ASSET_FIELD_TYPES)
