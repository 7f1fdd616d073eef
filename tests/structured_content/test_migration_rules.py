"""The mapping rules of migrations (migration.py): pure functions, no database."""

from __future__ import annotations

from typing import Any

import pytest

from cmpapi.server.errors import Invalid
from cmpapi.server.resources.structured_content.migration import (
    check_defaults,
    keyed_defaults,
    map_fields,
)
from tests.support.structured_content import core, text


def entry(locale: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"locale": locale, "field_values": list(items)}


SOURCE = [
    text("title"),
    text("summary", need_internationalization=True),
    {"core": core("count", "number")},
    {"core": core("gone", "boolean"), "base_type": "boolean"},
]
TARGET = [
    text("title"),
    text("summary", need_internationalization=True),
    text("count"),  # was a number
    text("subtitle"),
]
STORED = {
    "title": [entry("en_US", {"text_value": "T", "order_index": 0})],
    "summary": [entry("en_US", {"text_value": "S"}), entry("fr_FR", {"text_value": "R"})],
    "count": [entry("en_US", {"num_value": 3})],
    "gone": [entry("en_US", {"bool_value": True})],
}


def test_same_key_and_type_carry_over_others_are_dropped() -> None:
    out = map_fields(STORED, SOURCE, TARGET, [], "en_US")
    assert out == {"title": STORED["title"], "summary": STORED["summary"]}
    assert out["title"] is not STORED["title"]  # fresh lists: the stored ones are untouched


def test_locales_the_target_does_not_take_are_dropped() -> None:
    not_i18n = [text("title"), text("summary")]  # summary no longer internationalized
    out = map_fields(STORED, SOURCE, not_i18n, [], "en_US")
    assert out["summary"] == [entry("en_US", {"text_value": "S"})]
    out = map_fields(STORED, SOURCE, TARGET, ["fr_FR"], "fr_FR")
    assert out == {"summary": [entry("fr_FR", {"text_value": "R"})]}


def test_given_values_replace_per_locale() -> None:
    given = {
        "summary": [entry("fr_FR", {"text_value": "Nouveau"})],
        "subtitle": [entry("en_US", {"text_value": "Sub"})],
        "title": [entry("en_US")],  # empty: cleared (the validator drops empty locales)
    }
    out = map_fields(STORED, SOURCE, TARGET, [], "en_US", given)
    assert out["summary"] == [entry("en_US", {"text_value": "S"}), given["summary"][0]]
    assert out["subtitle"] == given["subtitle"]
    assert out["title"] == [entry("en_US")]


def test_default_values_only_fill() -> None:
    given = {
        "title": [entry("en_US", {"text_value": "Default"})],
        "subtitle": [entry("en_US", {"text_value": "Sub"})],
    }
    out = map_fields(STORED, SOURCE, TARGET, [], "en_US", given, fill_only=True)
    assert out["title"] == STORED["title"]  # the content's own value wins
    assert out["subtitle"] == given["subtitle"]


def test_malformed_given_entries_are_passed_on_for_the_validator() -> None:
    bad = {"subtitle": ["x", entry("en_US"), entry("en_US", {"text_value": "again"})]}
    out = map_fields({}, SOURCE, TARGET, [], "en_US", bad)
    # The entry, then what is passed on: not an entry, a locale given twice.
    assert out["subtitle"] == [entry("en_US"), "x", entry("en_US", {"text_value": "again"})]
    assert map_fields({}, SOURCE, TARGET, [], "en_US", {"subtitle": "x"}) == {"subtitle": "x"}


def test_default_values_shape() -> None:
    literal = {"locale": "en_US", "field_values": [{"text_value": "x"}]}  # the spec's type
    assert keyed_defaults(literal) == {}
    assert keyed_defaults(literal | {"title": []}) == {"title": []}
    assert keyed_defaults(None) == {}
    assert check_defaults(literal, TARGET) == literal
    assert check_defaults(None, TARGET) == {}
    with pytest.raises(Invalid) as refused:
        check_defaults({"nope": [], "title": "x", "subtitle": [{"locale": 1}]}, TARGET)
    assert refused.value.errors == {
        "default_values.nope": "Unknown field: the target content type version has no such key",
        "default_values.title": "Must be a list of {locale, field_values}",
        "default_values.subtitle.0": "Must be an object with a locale and field_values",
    }
    with pytest.raises(Invalid):
        check_defaults(["x"], TARGET)
