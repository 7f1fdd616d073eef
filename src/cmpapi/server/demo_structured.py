"""Demo structured content (``cmpapi serve --demo``): two content types, "Author" and
"Article" (two versions: the second adds a hero image and a reading time and makes the
title translatable), and three library contents: an author, an article written against the
first Article version and one against the second, which refers to the author. The types
are made as Ada Admin, the contents as Mia Marketer (a member), through the services; ids
are stable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.session import one_unit
from cmpapi.server.http.links import Links
from cmpapi.server.resources.structured_content import library, types
from cmpapi.wire import (
    LibraryStructuredContentCreateRequest,
    SCContentTypeCreateRequest,
    SCContentTypeVersionCreateRequest,
)

LINKS = Links("http://localhost:8000")  # events recorded while seeding name the default URL
DemoId = Callable[[str], str]


def _core(key: str, name: str, field_type: str, **options: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "field_type": field_type,
        "is_list": False,
        "is_required": False,
        "need_internationalization": False,
        **options,
    }


def _text(key: str, name: str, max_length: int, **options: Any) -> dict[str, Any]:
    core = _core(key, name, "text-field", **options)
    return {"core": core, "validation_pattern": "", "min_length": 0, "max_length": max_length}


AUTHOR = [
    _text("name", "Name", 120, is_required=True),
    {"core": _core("bio", "Biography", "rich-text"), "min_visual_text_length": 0},
    {"core": _core("website", "Website", "url"), "base_type": "url"},
    {"core": _core("photo", "Photo", "library-asset"), "allowed_types": ["image"]},
]


def _article(author_type: str, second: bool) -> list[dict[str, Any]]:
    title = _text("title", "Title", 120, is_required=True, need_internationalization=second)
    fields = [
        title,
        _text("summary", "Summary", 300),
        {"core": _core("body", "Body", "rich-text"), "min_visual_text_length": 0},
        {
            "core": _core("author", "Author", "content-type"),
            "allowed_content_types": [author_type],
            "ref_type": 1,
        },
        {
            "core": _core("topics", "Topics", "choice", is_list=True, max_list_length=3),
            "choices": {"product": "Product", "pricing": "Pricing", "events": "Events"},
            "display_option": "tag",
        },
        {
            "core": _core("publish_at", "Publish at", "datetime"),
            "min_date": "2020-01-01T00:00:00Z",
            "max_date": "2040-12-31T23:59:59Z",
        },
    ]
    if second:
        fields += [
            {"core": _core("hero", "Hero image", "library-asset"), "allowed_types": ["image"]},
            {
                "core": _core("reading_time", "Reading time (min)", "number"),
                "min_value": 1,
                "max_value": 60,
            },
        ]
    return fields


def seed_structured_content(
    session: Session, org_id: str, admin_id: str, member_id: str, demo_id: DemoId
) -> None:
    """Seed the demo's content types and contents: one transaction with the caller's."""
    with one_unit(session):
        ada = Principal(org_id=org_id, user_id=admin_id, role="admin", app_id="")
        mia = Principal(org_id=org_id, user_id=member_id, role="member", app_id="")
        author_type = _type(session, ada, "Author", AUTHOR, demo_id)
        article_type = _type(session, ada, "Article", _article(author_type, False), demo_id)
        _content(session, mia, article_type, "Pricing FAQ", demo_id, _faq())
        body = {"created_by": admin_id, "field_definitions": _article(author_type, True)}
        body["expected_locales"] = ["en_US", "fr_FR"]
        types.create_sc_content_type_version(
            session,
            ada,
            article_type,
            SCContentTypeVersionCreateRequest.model_validate(body),
            body["field_definitions"],
            version_id=demo_id("sc-type-version:Article:2"),
        )
        author = _content(session, mia, author_type, "Ada Lovelace", demo_id, _author())
        _content(session, mia, article_type, "Spring launch", demo_id, _launch(author))


def _type(
    session: Session, ada: Principal, name: str, definitions: list[dict[str, Any]], demo_id: DemoId
) -> str:
    body = {
        "created_by": ada.user_id,
        "details": {"name": name, "component": False, "description": f"Demo {name.lower()}"},
        "field_definitions": definitions,
    }
    ids = (demo_id(f"sc-type:{name}"), demo_id(f"sc-type-version:{name}:1"))
    request = SCContentTypeCreateRequest.model_validate(body)
    return types.create_sc_content_type(session, ada, request, definitions, ids=ids).content_type.id


def _values(
    locale: str = "en_US", **fields: dict[str, Any] | list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        key: [{"locale": locale, "field_values": value if isinstance(value, list) else [value]}]
        for key, value in fields.items()
    }


def _author() -> dict[str, Any]:
    return _values(
        name={"text_value": "Ada Lovelace"},
        bio={"rich_text_value": "<p>Writes about <b>analytical engines</b>.</p>"},
        website={"url": "https://example.com/ada"},
    )


def _faq() -> dict[str, Any]:
    return _values(
        title={"text_value": "Pricing FAQ"},
        summary={"text_value": "Answers to the questions we hear most"},
        topics={"choice_key": "pricing"},
    )


def _launch(author_id: str) -> dict[str, Any]:
    fields = _values(
        title={"text_value": "Spring launch"},
        body={"rich_text_value": "<p>Our spring line is here.</p>"},
        author={"content_guid": author_id, "embedded": False},
        topics=[{"choice_key": "product"}, {"choice_key": "events"}],
        publish_at={"datetime_value": "2031-03-15T09:00:00Z"},
        reading_time={"num_value": 4},
    )
    fields["title"].append({"locale": "fr_FR", "field_values": [{"text_value": "Lancement"}]})
    return fields


def _content(
    session: Session,
    mia: Principal,
    type_id: str,
    title: str,
    demo_id: DemoId,
    fields: dict[str, Any],
) -> str:
    body = {"title": title, "content_body": {"content_type_guid": type_id, "root_content": True}}
    request = LibraryStructuredContentCreateRequest.model_validate(body)
    made = library.create_structured_content(
        session, mia, LINKS, request, fields, id_=demo_id(f"sc-content:{title}")
    )
    return str(made.asset.row.id)
