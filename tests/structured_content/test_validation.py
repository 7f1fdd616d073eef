"""The value validator and the definition checks, without a server: every field type
with its options, locales, lists, references, and hostile patterns."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

import pytest

from cmpapi.server.errors import Invalid
from cmpapi.server.resources.structured_content.contents import content_hash, merge_fields
from cmpapi.server.resources.structured_content.definitions import (
    check_definitions,
    pattern_matches,
)
from cmpapi.server.resources.structured_content.validation import (
    Checked,
    check_fields,
    validation_map,
    visual_text,
)
from tests.support.structured_content import core, every_type, text

ASSETS = {"img1": "image", "vid1": "video"}
CONTENTS = {"c1": "author-type", "c2": "other-type"}


class Lookup:
    """The organization's ids, as the database would answer."""

    def asset_types(self, ids: Collection[str]) -> Mapping[str, str]:
        return {i: ASSETS[i] for i in ids if i in ASSETS}

    def content_types(self, ids: Collection[str]) -> Mapping[str, str]:
        return {i: CONTENTS[i] for i in ids if i in CONTENTS}


DEFS = check_definitions(every_type(["image"], ["author-type"]))


def run(
    fields: Any, defs: list[dict[str, Any]] = DEFS, locales: list[str] | None = None, **kw: Any
) -> Checked:
    return check_fields(fields, defs, locales or [], "en_US", Lookup(), **kw)


def one(key: str, *values: dict[str, Any], locale: str = "en_US") -> dict[str, Any]:
    """``key``'s values, and a title (required) unless ``key`` is the title."""
    title = {"title": [{"locale": "en_US", "field_values": [{"text_value": "T"}]}]}
    return {**title, key: [{"locale": locale, "field_values": list(values)}]}


def paths(checked: Checked) -> dict[str, str | None]:
    return {p.path: p.reason for p in checked.problems}


F = "content_body.fields"


def test_every_type_accepts_a_good_value() -> None:
    fields = {
        "title": [{"locale": "en_US", "field_values": [{"text_value": "Hello"}]}],
        "body": [
            {"locale": "en_US", "field_values": [{"rich_text_value": "<p>Hi <b>there</b></p>"}]}
        ],
        "count": [{"locale": "en_US", "field_values": [{"num_value": 3.5}]}],
        "flag": [{"locale": "en_US", "field_values": [{"bool_value": True}]}],
        "data": [{"locale": "en_US", "field_values": [{"json_value": {"a": [1]}}]}],
        "link": [{"locale": "en_US", "field_values": [{"url": "https://example.com/x"}]}],
        "place": [{"locale": "en_US", "field_values": [{"latitude": 48.85, "longitude": 2.35}]}],
        "when": [
            {"locale": "en_US", "field_values": [{"datetime_value": "2030-01-01T10:00:00+02:00"}]}
        ],
        "size": [{"locale": "en_US", "field_values": [{"choice_key": "s"}]}],
        "image": [
            {"locale": "en_US", "field_values": [{"asset_guid": "img1", "asset_type": "image"}]}
        ],
        "related": [
            {
                "locale": "en_US",
                "field_values": [{"content_guid": "c1", "embedded": False, "order_index": 0}],
            }
        ],
    }
    checked = run(fields)
    assert checked.problems == []
    stored = checked.stored_fields
    assert stored["when"][0]["field_values"] == [
        {"datetime_value": "2030-01-01T08:00:00Z", "order_index": 0}
    ]
    assert stored["title"][0]["field_values"] == [{"text_value": "Hello", "order_index": 0}]


@pytest.mark.parametrize(
    ("key", "value", "where", "reason"),
    [
        ("title", {"text_value": 5}, "text_value", None),
        ("title", {"text_value": "x" * 81}, "text_value", "MAX_NOT_MET"),
        ("body", {"rich_text_value": "<p>" + "a" * 501 + "</p>"}, "rich_text_value", "MAX_NOT_MET"),
        ("count", {"num_value": 101}, "num_value", "MAX_NOT_MET"),
        ("count", {"num_value": -1}, "num_value", "MIN_NOT_MET"),
        ("count", {"num_value": True}, "num_value", None),
        ("flag", {"bool_value": "yes"}, "bool_value", None),
        ("data", {"json_value": "text"}, "json_value", None),
        ("link", {"url": "not a url"}, "url", None),
        ("place", {"latitude": 91, "longitude": 0}, "latitude", None),
        ("when", {"datetime_value": "2030-01-01T10:00:00"}, "datetime_value", None),
        ("when", {"datetime_value": "1999-01-01T10:00:00Z"}, "datetime_value", "MIN_NOT_MET"),
        ("size", {"choice_key": "m"}, "choice_key", None),
        ("image", {"asset_guid": "vid1", "asset_type": "video"}, "asset_type", None),
        ("image", {"asset_guid": "nope", "asset_type": "image"}, "asset_guid", None),
        ("image", {"asset_guid": "vid1", "asset_type": "image"}, "asset_guid", None),
        ("related", {"content_guid": "c2", "embedded": False}, "content_guid", None),
        ("related", {"content_guid": "zz", "embedded": False}, "content_guid", None),
        (
            "related",
            {"content_guid": "self", "embedded": False},
            "content_guid",
            "INVALID_SELF_REF",
        ),
        ("title", {"text_value": "a", "extra": 1}, "extra", None),
        ("title", {}, "text_value", None),
        ("count", {"num_value": 1, "order_index": -1}, "order_index", None),
    ],
)
def test_bad_values_are_named(
    key: str, value: dict[str, Any], where: str, reason: str | None
) -> None:
    checked = run(one(key, value), content_id="self")
    found = paths(checked)
    path = f"{F}.{key}.0.field_values.0.{where}"
    assert path in found and found.pop(path) == reason, checked.problems
    # A bad title leaves the required title without a value, which is named too.
    assert found == ({f"{F}.title": "REQUIRED_FIELD_ABSENT"} if key == "title" else {})


def test_required_list_and_locale_rules() -> None:
    defs = check_definitions(
        [
            text("title", is_required=True),
            text(
                "tags",
                is_list=True,
                min_list_length=1,
                max_list_length=2,
                need_internationalization=True,
            ),
        ]
    )
    checked = run(
        {"tags": [{"locale": "fr_FR", "field_values": [{"text_value": "a"}] * 3}]},
        defs,
        ["en_US", "fr_FR"],
    )
    assert paths(checked) == {
        f"{F}.tags.0.field_values": "MAX_NOT_MET",
        f"{F}.title": "REQUIRED_FIELD_ABSENT",
    }
    assert validation_map(checked.problems) == {
        "tags": {"fr_FR": "MAX_NOT_MET"},
        "title": {"en_US": "REQUIRED_FIELD_ABSENT"},
    }
    checked = run(
        {"title": [{"locale": "fr_FR", "field_values": [{"text_value": "a"}]}]},
        defs,
        ["en_US", "fr_FR"],
    )
    assert f"{F}.title.0.locale" in paths(checked)  # not internationalized
    checked = run(
        {
            "title": [{"locale": "en_US", "field_values": [{"text_value": "a"}]}],
            "tags": [{"locale": "de_DE", "field_values": [{"text_value": "a"}]}],
        },
        defs,
        ["en_US", "fr_FR"],
    )
    assert paths(checked) == {f"{F}.tags.0.locale": None}
    checked = run(
        {
            "title": [
                {"locale": "en_US", "field_values": [{"text_value": "a"}, {"text_value": "b"}]}
            ]
        },
        defs,
    )
    assert paths(checked) == {f"{F}.title.0.field_values": None}  # not a list field
    checked = run(
        {"title": [{"locale": "en_US", "field_values": [{"text_value": "a"}]}], "nope": []}, defs
    )
    assert paths(checked) == {f"{F}.nope": None}


def test_order_index_orders_and_renumbers() -> None:
    defs = check_definitions([text("tags", is_list=True)])
    values = [{"text_value": "b", "order_index": 5}, {"text_value": "a", "order_index": 2}]
    checked = run({"tags": [{"locale": "en_US", "field_values": values}]}, defs)
    assert checked.stored_fields["tags"][0]["field_values"] == [
        {"text_value": "a", "order_index": 0},
        {"text_value": "b", "order_index": 1},
    ]
    values = [{"text_value": "b", "order_index": 1}, {"text_value": "a", "order_index": 1}]
    assert paths(run({"tags": [{"locale": "en_US", "field_values": values}]}, defs)) == {
        f"{F}.tags.0.field_values": None
    }


def test_patterns_search_with_a_time_limit() -> None:
    defs = check_definitions([text("code", validation_pattern=r"^[A-Z]{3}-\d+$")])
    ok = run({"code": [{"locale": "en_US", "field_values": [{"text_value": "ABC-12"}]}]}, defs)
    bad = run({"code": [{"locale": "en_US", "field_values": [{"text_value": "abc"}]}]}, defs)
    assert ok.problems == []
    assert paths(bad) == {f"{F}.code.0.field_values.0.text_value": "PATTERN_ERROR"}
    started = time.monotonic()
    assert pattern_matches(r"^(a|aa)+$", "a" * 60 + "!") is None  # catastrophic: stopped
    assert time.monotonic() - started < 2


def test_rich_text_counts_what_a_reader_sees() -> None:
    assert visual_text("<p>Hi&nbsp;<b>there</b></p>\n<p> you </p>") == "Hi there you"


def test_definition_checks() -> None:
    with pytest.raises(Invalid) as caught:
        check_definitions([text("a", validation_pattern="[")])
    assert caught.value.errors == {
        "field_definitions.0.validation_pattern": caught.value.errors[
            "field_definitions.0.validation_pattern"
        ]
    }
    with pytest.raises(Invalid) as caught:
        check_definitions(
            [
                {
                    "core": core("d", "datetime"),
                    "min_date": "2030-01-01T00:00:00Z",
                    "max_date": "2020-01-01T00:00:00Z",
                }
            ]
        )
    assert set(caught.value.errors or {}) == {"field_definitions.0.max_date"}
    inferred = check_definitions(
        [{"core": {**core("c", "choice"), "field_type": None}, "choices": {"a": "A"}}]
    )
    assert inferred[0]["core"]["field_type"] == "choice"
    with pytest.raises(Invalid):
        check_definitions(
            [{"core": core("c", "choice"), "choices": {"a": "A"}, "default_values": ["b"]}]
        )


def test_merge_fields_patch_semantics() -> None:
    stored = {
        "tags": [
            {
                "locale": "en_US",
                "field_values": [
                    {"text_value": "a", "order_index": 0},
                    {"text_value": "b", "order_index": 1},
                ],
            },
            {"locale": "fr_FR", "field_values": [{"text_value": "x", "order_index": 0}]},
        ],
        "title": [{"locale": "en_US", "field_values": [{"text_value": "T", "order_index": 0}]}],
    }
    merged = merge_fields(stored, {"tags": [{"locale": "fr_FR", "delete": True}]})
    assert [e["locale"] for e in merged["tags"]] == ["en_US"]
    assert merged["title"] == stored["title"]
    merged = merge_fields(
        stored, {"tags": [{"locale": "en_US", "field_values": [{"text_value": "z"}]}]}
    )
    assert merged["tags"][0]["field_values"] == [{"text_value": "z"}]
    edits = [
        {"delete": True, "order_index": 0},
        {"text_value": "c"},
        {"text_value": "B", "order_index": 1},
    ]
    merged = merge_fields(stored, {"tags": [{"locale": "en_US", "field_values": edits}]})
    assert merged["tags"][0]["field_values"] == [{"text_value": "B"}, {"text_value": "c"}]
    with pytest.raises(Invalid) as caught:
        merge_fields(stored, {"tags": [{"locale": "en_US", "field_values": [{"delete": True}]}]})
    assert set(caught.value.errors or {}) == {f"{F}.tags.0.field_values.0"}


def test_content_hash_is_canonical() -> None:
    assert content_hash({"b": 1, "a": [1]}) == content_hash({"a": [1], "b": 1})
    assert len(content_hash({})) == 64
