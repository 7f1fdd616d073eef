"""A task's structured contents: addStructuredContentToTask, getTaskStructuredContent,
updateTaskStructuredContent, deleteTaskStructuredContent, createTaskStructuredContentDraft;
the content as a task asset (listTaskAssets, the task asset events)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.support.mixins import ResourceTests
from tests.support.sc_tasks import add_content, localized, page_body, page_type, single_type
from tests.support.snapshot import Unchanged
from tests.support.tasks import create_task
from tests.support.uploads import jpeg, upload
from tests.support.world import World
from tests.tasks.test_task_assets import events

API = "https://testserver/v3"
HELLO = {
    "headline": [{"locale": "en_US", "field_values": [{"text_value": "Hello", "order_index": 0}]}]
}


def new_task(client: Any, world: World) -> str:
    return str(create_task(client, world, None)["id"])


def url(task_id: str, content_id: str = "", tail: str = "") -> str:
    base = f"/v3/tasks/{task_id}/structured-contents"
    return f"{base}/{content_id}{tail}" if content_id else base


def asset_event(task_id: str, content_id: str, **extra: Any) -> dict[str, Any]:
    """The data of task_asset_added / task_asset_modified for a task's content."""
    return {
        "task": {
            "id": task_id,
            "links": {"self": f"{API}/tasks/{task_id}", "assets": f"{API}/tasks/{task_id}/assets"},
        },
        "asset": {
            "id": content_id,
            "type": "structured_content",
            "links": {
                "self": f"{API}/tasks/{task_id}/structured-contents/{content_id}",
                "task": f"{API}/tasks/{task_id}",
            },
        },
        **extra,
    }


# -- generic behaviour -------------------------------------------------------------------


class TestTaskStructuredContents(ResourceTests):
    list_path = "/v3/tasks/{parent}/assets"  # a task's contents are listed as its assets
    item_path = "/v3/tasks/{task}/structured-contents/{id}"
    create_path = "/v3/tasks/{parent}/structured-contents"
    create_data = [
        (
            page_body("{type}"),
            {
                "title": "Spring page",
                "content_type_guid": "{type}",
                "primary_locale": "en_US",
                "root_content": True,
                "expired": False,
                "content_type_name": "Landing page",
                "latest_fields_version": {"fields": HELLO},
            },
        ),
        (
            page_body(
                "{type}",
                primary_locale="de_DE",
                expired=True,
                source="cms",
                source_id="p-1",
                source_metadata="{}",
                template_guid="t-1",
                expiry_datetime="2031-05-01T10:00:00Z",
                fields={
                    "headline": localized("de_DE", {"text_value": "Hallo"}),
                    "tags": localized("de_DE", {"text_value": "a"}, {"text_value": "b"}),
                },
            ),
            {
                "primary_locale": "de_DE",
                "expired": True,
                "source": "cms",
                "source_id": "p-1",
                "template_guid": "t-1",
                "expiry_datetime": "2031-05-01T10:00:00Z",
                "latest_fields_version": {
                    "fields": {
                        "headline": localized("de_DE", {"text_value": "Hallo", "order_index": 0}),
                        "tags": localized(
                            "de_DE",
                            {"text_value": "a", "order_index": 0},
                            {"text_value": "b", "order_index": 1},
                        ),
                    }
                },
            },
        ),
        # no title: the content type's name
        (
            {
                "content_type_guid": "{type}",
                "fields": {"headline": localized("en_US", {"text_value": "x"})},
            },
            {"title": "Landing page"},
        ),
        (
            {
                **page_body("{type}"),
                "fields": {
                    **page_body("{type}")["fields"],
                    "hero": localized("en_US", {"asset_guid": "{image}", "asset_type": "image"}),
                },
            },
            {
                "latest_fields_version": {
                    "fields": {
                        "hero": localized(
                            "en_US",
                            {"asset_guid": "{image}", "asset_type": "image", "order_index": 0},
                        )
                    }
                }
            },
        ),
    ]
    invalid_create = [
        ({**page_body("{type}"), "fields": {}}, "fields.headline"),
        ({**page_body("{type}"), "content_type_guid": "0" * 32}, "content_type_guid"),
        (page_body("{type}", headline="x" * 81), "fields.headline.0.field_values.0.text_value"),
        (
            {**page_body("{type}"), "fields": {"headline": localized("en_US", {"num_value": 1})}},
            "fields.headline.0.field_values.0.text_value",
        ),
        (
            {**page_body("{type}"), "fields": {"bogus": localized("en_US", {"text_value": "x"})}},
            "fields.bogus",
        ),
        (
            {
                **page_body("{type}"),
                "fields": {
                    **page_body("{type}")["fields"],
                    "tags": localized("en_US", *({"text_value": str(n)} for n in range(4))),
                },
            },
            "fields.tags.0.field_values",
        ),
        (
            {
                **page_body("{type}"),
                "fields": {
                    **page_body("{type}")["fields"],
                    "hero": localized("en_US", {"asset_guid": "0" * 32, "asset_type": "image"}),
                },
            },
            "fields.hero.0.field_values.0.asset_guid",
        ),
        (page_body("{type}", primary_locale="fr_FR"), "primary_locale"),
        (page_body("{type}", title="   "), "title"),
        ({"title": "No type"}, "content_type_guid"),
    ]
    update_path = "/v3/tasks/{parent}/structured-contents/{id}"
    update_data = [
        {"title": "Renamed"},
        (
            {"fields": {"headline": localized("de_DE", {"text_value": "Hallo"})}},
            {
                "latest_fields_version": {
                    "fields": {
                        "headline": [
                            *HELLO["headline"],
                            *localized("de_DE", {"text_value": "Hallo", "order_index": 0}),
                        ]
                    }
                }
            },
        ),
        {"expired": True, "expiry_datetime": "2030-01-01T00:00:00Z", "source": "cms"},
        {"primary_locale": "de_DE"},
    ]
    invalid_update = [
        ({"title": ""}, "title"),
        ({"fields": {"headline": [{"locale": "en_US", "delete": True}]}}, "fields.headline"),
        ({"primary_locale": "fr_FR"}, "primary_locale"),
        ({"fields": {"tags": localized("de_DE", {"text_value": "x"})}}, "fields.tags.0.locale"),
        ({"content_type_guid": "0" * 32}, "content_type_guid", 422),
    ]
    delete_path = "/v3/tasks/{parent}/structured-contents/{id}"

    @pytest.fixture(autouse=True)
    def _reset(self) -> None:
        self._task_of: dict[str, str] = {}
        self._types: dict[str, str] = {}

    def parent(self, db: Session, world: World) -> str:
        return new_task(self.client, world)

    def type_of(self, world: World) -> str:
        if world.org.id not in self._types:
            self._types[world.org.id] = page_type(self.client, world)
        return self._types[world.org.id]

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        key = upload(self.client, world, jpeg(), "hero.jpg")
        r = self.client.post("/v3/assets", json={"key": key, "title": "Hero"}, headers=world.auth())
        assert r.status_code == 201, r.text
        return {"type": self.type_of(world), "image": r.json()["id"]}

    def make(self, db: Session, world: World, n: int) -> list[str]:
        task, type_id = self.parent_of(world), self.type_of(world)
        made = [add_content(self.client, world, task, type_id)["content_guid"] for _ in range(n)]
        self._task_of.update(dict.fromkeys(made, task))
        return made

    def created_id(self, response: Any) -> str:
        return str(response.json()["content_guid"])

    def _item(self, item_id: str) -> str:
        task = self._task_of.get(item_id, next(iter(self._parents.values()), "0" * 32))
        return url(task, item_id)

    def fetch(self, world: World, item_id: str) -> dict[str, Any] | None:
        r = self.client.get(url(self.parent_of(world), item_id), headers=world.auth())
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        item: dict[str, Any] = r.json()
        return item

    def test_get_own_item(self, client: Any, db: Session, world: World) -> None:
        (item_id,) = self.make(db, world, 1)
        r = client.get(self._item(item_id), headers=world.auth())
        assert r.status_code == 200, r.text
        assert r.json()["content_guid"] == item_id


# -- rules -------------------------------------------------------------------------------


def test_a_content_is_a_task_asset(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    made = add_content(client, world, task, type_id, who="member")
    cid = made["content_guid"]
    assert made["links"]["self"] == f"{API}/tasks/{task}/structured-contents/{cid}"
    assert made["links"]["definition"].startswith(f"{API}/structured-content/content-types/")
    assert made["created_by"] == world.users["member"].id
    assert len(made["latest_fields_version"]["content_hash"]) == 64
    r = client.get(f"/v3/tasks/{task}/assets", headers=world.auth("viewer"))
    (listed,) = r.json()["data"]
    assert listed["id"] == cid and listed["type"] == "structured_content"
    assert (listed["title"], listed["mime_type"]) == ("Spring page", "application/json")
    assert listed["content"] == {"type": "api_url", "value": made["links"]["self"]}
    assert listed["links"]["self"] == made["links"]["self"]
    assert listed["links"]["drafts"] == made["links"]["self"] + "/drafts"
    assert listed["library_asset_id"] is None
    assert events(db, "task_asset_added") == [asset_event(task, cid)]
    # not a file asset: the typed getters and the file-draft operations do not take it
    assert client.get(f"/v3/tasks/{task}/images/{cid}", headers=world.auth()).status_code == 404
    body = {"type": "direct_upload", "key": upload(client, world, jpeg()), "title": "D"}
    r = client.post(f"/v3/tasks/{task}/assets/{cid}/drafts", json=body, headers=world.auth())
    assert r.status_code == 422 and r.json()["errors"] == {"asset_id": "A structured content"}
    r = client.post(
        f"/v3/tasks/{task}/assets/{cid}/comments", json={"value": "Hi"}, headers=world.auth()
    )
    assert r.status_code == 422 and r.json()["errors"] == {"asset_id": "A structured content"}
    # and not a library asset
    assert client.get("/v3/assets", headers=world.auth()).json()["data"] == []


def test_contents_belong_to_their_task(client, world: World) -> None:
    type_id = page_type(client, world)
    one, two = new_task(client, world), new_task(client, world)
    cid = add_content(client, world, one, type_id)["content_guid"]
    for method in ("GET", "PATCH", "DELETE"):
        r = client.request(
            method,
            url(two, cid),
            headers=world.auth(),
            json={"title": "x"} if method == "PATCH" else None,
        )
        assert r.status_code == 404, (method, r.text)
    r = client.post(
        url(two, cid, "/drafts"),
        headers=world.auth(),
        json={"content_body": {"locale": "en_US", "field_values": []}},
    )
    assert r.status_code == 404


def test_updates_record_what_changed(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    made = add_content(client, world, task, type_id)
    cid, first_hash = made["content_guid"], made["latest_fields_version"]["content_hash"]
    same = {
        "title": "Spring page",
        "fields": {"headline": localized("en_US", {"text_value": "Hello"})},
    }
    r = client.patch(url(task, cid), json=same, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    assert r.json()["latest_fields_version"]["content_hash"] == first_hash
    assert events(db, "task_asset_modified") == []  # nothing changed, nothing recorded
    change = {
        "title": "Summer page",
        "source": "cms",
        "fields": {"headline": localized("en_US", {"text_value": "Hi"})},
    }
    r = client.patch(url(task, cid), json=change, headers=world.auth("member"))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["latest_fields_version"]["content_hash"] != first_hash
    assert answer["updated_by"] == world.users["member"].id
    assert events(db, "task_asset_modified") == [
        asset_event(task, cid, attributes_changed=["title", "source", "versions"])
    ]
    (listed,) = client.get(f"/v3/tasks/{task}/assets", headers=world.auth()).json()["data"]
    assert listed["title"] == "Summer page"


def test_a_refused_update_writes_nothing(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    cid = add_content(client, world, task, type_id)["content_guid"]
    unchanged = Unchanged(db)
    bad = {"title": "New", "fields": {"headline": localized("en_US", {"text_value": "x" * 81})}}
    r = client.patch(url(task, cid), json=bad, headers=world.auth())
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors["fields.headline.0.field_values.0.text_value"] == "At most 80 characters"
    unchanged.after("refused update")
    unchanged.finally_("all")


def test_drafts_are_new_fields_versions(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    made = add_content(client, world, task, type_id)
    cid = made["content_guid"]
    draft = {
        "content_body": {
            "locale": "de_DE",
            "field_values": [
                {"key": "headline", "text_value": "Hallo"},
                {"key": "tags", "text_value": "ignored"},
            ],
        }
    }
    r = client.post(url(task, cid, "/drafts"), json=draft, headers=world.auth("member"))
    # tags is not internationalized: only the primary locale (en_US) takes values
    assert r.status_code == 422, r.text
    assert set(r.json()["errors"]) == {"content_body.locale"}
    draft["content_body"]["field_values"].pop()
    r = client.post(url(task, cid, "/drafts"), json=draft, headers=world.auth("member"))
    assert r.status_code == 201, r.text
    version = r.json()["latest_fields_version"]
    assert version["version_guid"] != made["latest_fields_version"]["version_guid"]
    assert version["fields"]["headline"] == [
        *HELLO["headline"],
        *localized("de_DE", {"text_value": "Hallo", "order_index": 0}),
    ]
    assert (
        client.get(url(task, cid), headers=world.auth()).json()["latest_fields_version"] == version
    )
    assert events(db, "task_asset_modified") == [
        asset_event(task, cid, attributes_changed=["versions"])
    ]
    assert events(db, "task_asset_draft_added") == []  # documented for files only


def test_draft_refusals_name_the_body(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    cid = add_content(client, world, task, type_id)["content_guid"]
    unchanged = Unchanged(db)
    cases = [
        ({"locale": "en_US", "field_values": []}, {"content_body.field_values"}),
        (
            {"locale": "en_US", "field_values": [{"text_value": "no key"}]},
            {"content_body.field_values.0.key"},
        ),
        (
            {"locale": "en_US", "field_values": [{"key": "nope", "text_value": "x"}]},
            {"content_body.field_values.0.key"},
        ),
        (
            {
                "locale": "en_US",
                "field_values": [
                    {"key": "tags", "text_value": "ok"},
                    {"key": "headline", "text_value": "x" * 81},
                ],
            },
            {"content_body.field_values.1.text_value"},
        ),
        (
            {"locale": "fr_FR", "field_values": [{"key": "headline", "text_value": "Salut"}]},
            {"content_body.locale"},
        ),
    ]
    for body, named in cases:
        r = client.post(
            url(task, cid, "/drafts"), json={"content_body": body}, headers=world.auth()
        )
        assert r.status_code == 422, r.text
        assert named <= set(r.json()["errors"]), r.text
        unchanged.after(str(body))
    r = client.post(url(task, cid, "/drafts"), json={}, headers=world.auth())
    assert r.status_code == 422 and "content_body" in r.json()["errors"]
    r = client.post(
        url(task, cid, "/drafts"),
        headers=world.auth("viewer"),
        json={"content_body": {"locale": "en_US", "field_values": []}},
    )
    assert r.status_code == 403
    unchanged.finally_("all")


def test_a_one_field_draft_needs_no_key(client, world: World) -> None:
    task, type_id = new_task(client, world), single_type(client, world)
    r = client.post(
        url(task), headers=world.auth(), json={"content_type_guid": type_id, "title": "Note"}
    )
    assert r.status_code == 201, r.text
    cid = r.json()["content_guid"]
    draft = {"content_body": {"locale": "en_US", "field_values": [{"text_value": "First"}]}}
    r = client.post(url(task, cid, "/drafts"), json=draft, headers=world.auth())
    assert r.status_code == 201, r.text
    assert r.json()["latest_fields_version"]["fields"] == {
        "body": localized("en_US", {"text_value": "First", "order_index": 0})
    }


def test_delete_removes_the_asset(client, db: Session, world: World) -> None:
    task, type_id = new_task(client, world), page_type(client, world)
    keep = add_content(client, world, task, type_id)["content_guid"]
    gone = add_content(client, world, task, type_id)["content_guid"]
    r = client.delete(url(task, gone), headers=world.auth("member"))
    assert r.status_code == 204 and r.content == b""
    assert client.get(url(task, gone), headers=world.auth()).status_code == 404
    listed = client.get(f"/v3/tasks/{task}/assets", headers=world.auth()).json()["data"]
    assert [a["id"] for a in listed] == [keep]
    assert events(db, "task_asset_removed") == [
        {
            "task": asset_event(task, gone)["task"],
            "asset": {"id": gone, "type": "structured_content"},
        }
    ]
    assert client.delete(url(task, gone), headers=world.auth()).status_code == 404


def test_an_archived_task_takes_no_changes(client, db: Session, world: World) -> None:
    from cmpapi.server.http.links import Links
    from cmpapi.server.resources.tasks import service as tasks

    task, type_id = new_task(client, world), page_type(client, world)
    cid = add_content(client, world, task, type_id)["content_guid"]
    tasks.set_task_flag(db, Links("https://testserver"), world.org.id, task, "is_archived", True)
    unchanged = Unchanged(db)
    writes = [
        ("POST", url(task), page_body(type_id)),
        ("PATCH", url(task, cid), {"title": "x"}),
        (
            "POST",
            url(task, cid, "/drafts"),
            {
                "content_body": {
                    "locale": "en_US",
                    "field_values": [{"key": "headline", "text_value": "x"}],
                }
            },
        ),
        ("DELETE", url(task, cid), None),
    ]
    for method, path, body in writes:
        r = client.request(method, path, json=body, headers=world.auth())
        assert r.status_code == 422 and r.json()["errors"] == {"id": "Archived tasks cannot change"}
        unchanged.after(f"{method} {path}")
    assert client.get(url(task, cid), headers=world.auth("viewer")).status_code == 200
    unchanged.finally_("all")
