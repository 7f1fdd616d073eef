"""Fields of tasks: listTaskFields, addFieldToTask, updateTaskField, removeTaskField,
listTaskSubStepFields, and the custom-fields view (listTaskCustomFields,
getTaskCustomField, updateTaskCustomField, listTaskCustomFieldChoices)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.tasks.tables import Task
from tests.resources.test_fields import BODIES, make_field
from tests.support.mixins import ResourceTests
from tests.support.tasks import create_task, make_workflow
from tests.support.uploads import jpeg, upload
from tests.support.world import World, build_world

API = "https://testserver/v3"


def events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    """Every recorded event, in the order it happened."""
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at)).all()
    return [(r.event_name, r.data) for r in rows]


def new_task(client: Any, world: World, workflow: str | None = None) -> str:
    return str(create_task(client, world, workflow)["id"])


def add(
    client: Any, world: World, task: str, field: Field, vals: list[Any], who: str = "admin"
) -> Any:
    body = {"id": field.id, "type": field.type, "values": vals}
    return client.post(f"/v3/tasks/{task}/fields", json=body, headers=world.auth(who))


def listed(client: Any, world: World, task: str, what: str = "fields") -> list[dict[str, Any]]:
    r = client.get(f"/v3/tasks/{task}/{what}", params={"page_size": 100}, headers=world.auth())
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def custom_event(task: str, *field_ids: str) -> tuple[str, dict[str, Any]]:
    """The exact task_custom_field_modified record for these fields."""
    url = f"{API}/tasks/{task}"
    return (
        "task_custom_field_modified",
        {
            "modified_custom_fields": [
                {"id": f, "links": {"self": f"{url}/custom-fields/{f}"}} for f in field_ids
            ],
            "task": {
                "id": task,
                "links": {
                    "self": url,
                    "assets": f"{url}/assets",
                    "custom_fields": f"{url}/custom-fields",
                },
            },
        },
    )


def metadata_event(task: str) -> tuple[str, dict[str, Any]]:
    return (
        "task_metadata_modified",
        {"task": {"id": task, "links": {"self": f"{API}/tasks/{task}"}}},
    )


@pytest.fixture
def fields(db: Session, world: World) -> dict[str, Field]:
    """One field of every type in the world's organization, keyed by type."""
    return {t: make_field(db, world.org.id, t) for t in sorted(BODIES)}


def test_every_field_type_is_added_listed_and_rendered(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = new_task(client, world)
    key = upload(client, world, jpeg(), "cover.jpg")
    one, two = (c.id for c in fields["checkbox"].choices)
    given: dict[str, list[Any]] = {
        "text": ["Hello"],
        "text_area": ["Two\nlines"],
        "rich_text": ["<p>Hi</p>"],
        "date": ["2030-02-10T12:40:45+02:00"],
        "image": [{"key": key, "title": "cover.jpg"}],
        "video": [],
        "checkbox": [two, one],
        "radio_button": [fields["radio_button"].choices[0].id],
        "dropdown": [],
        "label": [fields["label"].choices[1].id],
        "simple_number": [12.5],
        "percentage_number": [7],
        "currency_number": [1234.5],
    }
    for type_, vals in given.items():
        r = add(client, world, task, fields[type_], vals)
        assert r.status_code == 201, (type_, r.text)
        assert (r.json()["id"], r.json()["type"]) == (fields[type_].id, type_)
    items = {f["type"]: f for f in listed(client, world, task)}
    assert list(items) == list(given)  # in the order they were added
    assert items["date"]["values"] == ["2030-02-10T10:40:45Z"]
    assert items["checkbox"]["values"] == [two, one]
    assert items["simple_number"]["values"] == ["12.50"]  # the field's 2 decimal places
    assert items["percentage_number"]["values"] == ["7.0"]
    assert items["currency_number"]["currency_code"] == "EUR"
    assert [c["id"] for c in items["label"]["choices"]] == [c.id for c in fields["label"].choices]
    (image_url,) = items["image"]["values"]
    assert image_url.startswith("https://testserver/") and key in image_url
    assert client.get(image_url.removeprefix("https://testserver")).content == jpeg()


def test_add_field_refusals(client, db: Session, world: World, fields: dict[str, Field]) -> None:
    task = new_task(client, world)
    text = fields["text"]
    url = f"/v3/tasks/{task}/fields"

    def refused(body: dict[str, Any], status: int = 422, who: str = "admin") -> Any:
        r = client.post(url, json=body, headers=world.auth(who))
        assert r.status_code == status, r.text
        return r.json()

    assert refused({"id": "0" * 32, "type": "text", "values": []})["errors"] == {
        "id": "Unknown field"
    }
    assert refused({"id": text.id, "type": "text_area", "values": []})["errors"] == {
        "type": "The field is of type text"
    }
    assert refused({"id": text.id, "type": "text", "values": ["a", "b"]})["errors"] == {
        "values": "At most 1 value allowed"
    }
    radio = fields["radio_button"]
    body = {"id": radio.id, "type": "radio_button", "values": ["nope"]}
    assert refused(body)["errors"] == {"values": "Value 0: 'nope' is not a choice id of this field"}
    image = {"id": fields["image"].id, "type": "image", "values": [{"key": "f" * 32, "title": "x"}]}
    assert refused(image)["errors"] == {"values": f"Value 0: unknown upload key '{'f' * 32}'"}
    assert "errors" in refused({"id": text.id, "type": "text", "values": [5]})  # wire schema
    assert refused({"id": text.id, "type": "text", "values": []}, 403, "viewer") == {
        "message": "You do not have the permission to perform this operation"
    }
    assert client.post(url, json={"id": text.id, "type": "text", "values": []}).status_code == 401
    assert add(client, world, task, text, ["first"]).status_code == 201
    assert refused({"id": text.id, "type": "text", "values": ["again"]})["errors"] == {
        "id": "Already on the task: use updateTaskField"
    }
    fields["date"].is_active = False
    db.commit()
    assert refused({"id": fields["date"].id, "type": "date", "values": []})["errors"] == {
        "id": "The field is inactive"
    }
    other = build_world(db, org_name="Other", prefix="o-")
    theirs = make_field(db, other.org.id, "text", "Theirs")
    assert refused({"id": theirs.id, "type": "text", "values": []})["errors"] == {
        "id": "Unknown field"
    }
    their_task = new_task(client, other)
    r = client.post(
        f"/v3/tasks/{their_task}/fields",
        headers=world.auth(),
        json={"id": text.id, "type": "text", "values": []},
    )
    assert r.status_code == 404
    assert listed(client, world, task)[0]["values"] == ["first"]  # nothing half-written


def test_update_and_remove_fields_record_their_events(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = new_task(client, world)
    text, label = fields["text"], fields["label"]
    red, blue = (c.id for c in label.choices)
    assert add(client, world, task, text, ["v1"], "member").status_code == 201
    assert add(client, world, task, label, [red], "member").status_code == 201
    before = db.get(Task, task)
    assert before is not None
    stamp = before.modified_at
    url = f"/v3/tasks/{task}/fields"
    put = {"type": "text", "values": ["v2"]}
    r = client.put(f"{url}/{text.id}", json=put, headers=world.auth("member"))
    assert r.status_code == 204 and r.content == b""
    assert client.put(f"{url}/{text.id}", json=put, headers=world.auth()).status_code == 204
    r = client.put(
        f"{url}/{label.id}", json={"type": "label", "values": [blue, red]}, headers=world.auth()
    )
    assert r.status_code == 204
    assert client.delete(f"{url}/{text.id}", headers=world.auth()).status_code == 204
    assert [f["id"] for f in listed(client, world, task)] == [label.id]
    assert listed(client, world, task)[0]["values"] == [blue, red]
    assert events(db) == [
        ("task_added", {"task": {"id": task, "links": {"self": f"{API}/tasks/{task}"}}}),
        custom_event(task, text.id),  # text added
        metadata_event(task),  # label added
        custom_event(task, text.id),  # v1 -> v2 (the repeated v2 changed nothing)
        metadata_event(task),  # label values
        custom_event(task, text.id),  # text removed
    ]
    db.expire_all()
    after = db.get(Task, task)
    assert after is not None and after.modified_at >= stamp


def test_update_and_remove_refusals(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = new_task(client, world)
    text, number = fields["text"], fields["simple_number"]
    assert add(client, world, task, number, [1]).status_code == 201
    url = f"/v3/tasks/{task}/fields"
    put = {"type": "text", "values": ["x"]}
    r = client.put(f"{url}/{text.id}", json=put, headers=world.auth())
    assert r.status_code == 404 and r.json() == {"message": "The field is not on the task"}
    assert client.put(f"{url}/{'0' * 32}", json=put, headers=world.auth()).status_code == 404
    assert client.delete(f"{url}/{text.id}", headers=world.auth()).status_code == 404
    r = client.put(f"{url}/{number.id}", json=put, headers=world.auth())
    assert r.status_code == 422 and r.json()["errors"] == {
        "type": "The field is of type simple_number"
    }
    bad = {"type": "simple_number", "values": [1e16]}
    r = client.put(f"{url}/{number.id}", json=bad, headers=world.auth())
    assert r.status_code == 422 and "values" in r.json()["errors"]
    good = {"type": "simple_number", "values": [2]}
    assert (
        client.put(f"{url}/{number.id}", json=good, headers=world.auth("viewer")).status_code == 403
    )
    assert client.delete(f"{url}/{number.id}", headers=world.auth("viewer")).status_code == 403
    assert client.delete(f"{url}/{number.id}").status_code == 401
    other = build_world(db, org_name="Other", prefix="o-")
    r = client.delete(f"{url}/{number.id}", headers=other.auth())
    assert r.status_code == 404
    row = db.get(Task, task)
    assert row is not None
    row.is_archived = True
    db.commit()
    r = client.put(f"{url}/{number.id}", json=good, headers=world.auth())
    assert r.status_code == 422 and r.json()["errors"] == {
        "task_id": "Archived tasks cannot change"
    }
    assert listed(client, world, task)[0]["values"] == ["1.00"]
    assert [name for name, _ in events(db)] == ["task_added", "task_custom_field_modified"]


def test_custom_fields_show_the_same_values(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = new_task(client, world)
    multi = make_field(db, world.org.id, "dropdown", "Multi", is_multi_select=True)
    one, two = (c.id for c in fields["checkbox"].choices)
    held: list[tuple[Field, list[Any]]] = [
        (fields["text"], ["Hi"]),
        (fields["label"], []),
        (fields["checkbox"], [one]),
        (fields["simple_number"], [3]),
        (fields["date"], ["2030-01-02T03:04:05Z"]),
        (fields["dropdown"], []),
        (multi, []),
        (fields["radio_button"], []),
    ]
    for field, vals in held:
        assert add(client, world, task, field, vals).status_code == 201
    custom = listed(client, world, task, "custom-fields")
    # Labels and numbers have no custom-field type: listTaskFields shows them only.
    assert [(c["id"], c["type"]) for c in custom] == [
        (fields["text"].id, "text_field"),
        (fields["checkbox"].id, "checkboxes"),
        (fields["date"].id, "date_field"),
        (fields["dropdown"].id, "dropdown"),
        (multi.id, "multi_select_dropdown"),
        (fields["radio_button"].id, "multiple_choice"),
    ]
    text, checkbox, date = custom[0], custom[1], custom[2]
    assert text["values"] == [{"id": None, "name": "Hi"}]
    assert text["links"] == {
        "self": f"{API}/tasks/{task}/custom-fields/{fields['text'].id}",
        "choices": None,
    }
    assert checkbox["values"] == [{"id": one, "name": "One"}]
    assert checkbox["links"]["choices"].endswith(f"/custom-fields/{fields['checkbox'].id}/choices")
    assert date["values"] == [{"id": None, "name": "2030-01-02"}]
    r = client.get(f"/v3/tasks/{task}/custom-fields/{fields['checkbox'].id}", headers=world.auth())
    assert r.status_code == 200 and r.json() == checkbox
    for hidden in (fields["label"].id, fields["simple_number"].id, fields["text_area"].id):
        r = client.get(f"/v3/tasks/{task}/custom-fields/{hidden}", headers=world.auth())
        assert r.status_code == 404
    assert two  # the second checkbox choice is used by the update test


def test_update_custom_fields(client, db: Session, world: World, fields: dict[str, Field]) -> None:
    task = new_task(client, world)
    checkbox, date, text = fields["checkbox"], fields["date"], fields["text"]
    for field in (checkbox, date, text, fields["dropdown"], fields["image"]):
        assert add(client, world, task, field, []).status_code == 201
    start = len(events(db))
    url = f"/v3/tasks/{task}/custom-fields"

    def patch(field: Field, vals: list[Any], who: str = "member") -> Any:
        return client.patch(f"{url}/{field.id}", json={"values": vals}, headers=world.auth(who))

    ids = [c.id for c in checkbox.choices]
    r = patch(checkbox, ids)
    assert r.status_code == 200, r.text
    assert r.json()["values"] == [{"id": ids[0], "name": "One"}, {"id": ids[1], "name": "Two"}]
    r = patch(date, ["2031-12-24"])
    assert r.status_code == 200 and r.json()["values"] == [{"id": None, "name": "2031-12-24"}]
    by_id = {f["id"]: f for f in listed(client, world, task)}
    assert by_id[date.id]["values"] == ["2031-12-24T00:00:00Z"]
    assert patch(text, ["Words"]).json()["values"] == [{"id": None, "name": "Words"}]
    both = [c.id for c in fields["dropdown"].choices]
    refused: list[tuple[Field, list[Any]]] = [
        (date, ["2031-02-30"]),
        (date, ["2031-12-24T10:00:00Z"]),
        (text, ["a", "b"]),
        (fields["dropdown"], both),
        (checkbox, ["nope"]),
        (fields["image"], ["x"]),
        (text, []),
    ]
    for field, vals in refused:
        r = patch(field, vals)
        assert r.status_code == 422, (field.type, vals, r.text)
        assert list(r.json()["errors"]) == ["values"]
    assert patch(text, ["x"], "viewer").status_code == 403
    assert patch(fields["label"], ["x"]).status_code == 404  # not on the task
    assert events(db)[start:] == [custom_event(task, f.id) for f in (checkbox, date, text)]
    r = client.get(f"{url}/{checkbox.id}/choices", headers=world.auth())
    assert r.status_code == 200
    assert r.json()["data"] == [{"id": c.id, "name": c.name} for c in checkbox.choices]
    assert client.get(f"{url}/{text.id}/choices", headers=world.auth()).status_code == 404
    assert client.get(f"{url}/{'0' * 32}/choices", headers=world.auth()).status_code == 404


def test_sub_step_fields_are_the_choice_fields(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = create_task(client, world, make_workflow(db, world))
    for type_ in ("text", "label", "radio_button", "simple_number", "checkbox"):
        assert add(client, world, task["id"], fields[type_], []).status_code == 201
    step = task["steps"][1]
    base = f"/v3/tasks/{task['id']}/steps/{step['id']}/sub-steps"
    r = client.get(f"{base}/{step['sub_steps'][0]['id']}/fields", headers=world.auth("viewer"))
    assert r.status_code == 200, r.text
    assert [(f["id"], f["type"]) for f in r.json()["data"]] == [
        (fields[t].id, t) for t in ("label", "radio_button", "checkbox")
    ]
    assert client.get(f"{base}/{'0' * 32}/fields", headers=world.auth()).status_code == 404
    other_step = task["steps"][0]["sub_steps"][0]["id"]
    assert client.get(f"{base}/{other_step}/fields", headers=world.auth()).status_code == 404


# -- generic list behaviour ------------------------------------------------------------


def _text_fields(test: ResourceTests, db: Session, world: World, task: str, n: int) -> list[str]:
    made = []
    for _ in range(n):
        field = make_field(db, world.org.id, "text", f"F-{new_id()}")
        assert add(test.client, world, task, field, ["v"]).status_code == 201
        made.append(field.id)
    return made


class TestTaskFieldsList(ResourceTests):
    list_path = "/v3/tasks/{parent}/fields"
    item_path = None  # fields are read through the list

    def parent(self, db: Session, world: World) -> str:
        return new_task(self.client, world)

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return _text_fields(self, db, world, self.parent_of(world), n)


class TestTaskCustomFields(ResourceTests):
    list_path = "/v3/tasks/{parent}/custom-fields"
    item_path = "/v3/tasks/{parent}/custom-fields/{id}"

    def parent(self, db: Session, world: World) -> str:
        return new_task(self.client, world)

    def make(self, db: Session, world: World, n: int) -> list[str]:
        return _text_fields(self, db, world, self.parent_of(world), n)

    def _item(self, item_id: str) -> str:
        # The task made last (the other organization's, in the invisibility test).
        task = next(reversed(self._parents.values()), "0" * 32)
        return f"/v3/tasks/{task}/custom-fields/{item_id}"


class TestTaskCustomFieldChoices(ResourceTests):
    list_path = "/v3/tasks/{parent}/choices"
    item_path = None  # choices are read through the list

    def parent(self, db: Session, world: World) -> str:
        task = new_task(self.client, world)
        field = make_field(db, world.org.id, "checkbox", f"C-{new_id()}")
        assert add(self.client, world, task, field, []).status_code == 201
        return f"{task}/custom-fields/{field.id}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        field_id = self.parent_of(world).rsplit("/", 1)[1]
        body = [{"name": f"Extra {new_id()}"} for _ in range(n)]
        r = self.client.post(f"/v3/fields/{field_id}/choices", json=body, headers=world.auth())
        assert r.status_code == 201, r.text
        return [c["id"] for c in r.json()[-n:]]

    baseline = 2  # the field's own two choices


class TestTaskSubStepFields(ResourceTests):
    list_path = "/v3/tasks/{parent}/fields"
    item_path = None

    def parent(self, db: Session, world: World) -> str:
        task = create_task(self.client, world, make_workflow(db, world, f"W-{new_id()}"))
        step = task["steps"][0]
        return f"{task['id']}/steps/{step['id']}/sub-steps/{step['sub_steps'][0]['id']}"

    def make(self, db: Session, world: World, n: int) -> list[str]:
        task = self.parent_of(world).split("/", 1)[0]
        made = []
        for _ in range(n):
            field = make_field(db, world.org.id, "radio_button", f"R-{new_id()}")
            assert add(self.client, world, task, field, []).status_code == 201
            made.append(field.id)
        return made


def test_other_organizations_tasks_are_404_and_tokens_are_required(
    client, db: Session, world: World, fields: dict[str, Field]
) -> None:
    task = create_task(client, world, make_workflow(db, world))
    tid, checkbox = task["id"], fields["checkbox"]
    assert add(client, world, tid, checkbox, []).status_code == 201
    step = task["steps"][0]
    sub = f"/v3/tasks/{tid}/steps/{step['id']}/sub-steps/{step['sub_steps'][0]['id']}/fields"
    custom = f"/v3/tasks/{tid}/custom-fields/{checkbox.id}"
    field = f"/v3/tasks/{tid}/fields/{checkbox.id}"
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"/v3/tasks/{tid}/fields", None),
        ("POST", f"/v3/tasks/{tid}/fields", {"id": checkbox.id, "type": "checkbox", "values": []}),
        ("PUT", field, {"type": "checkbox", "values": []}),
        ("DELETE", field, None),
        ("GET", sub, None),
        ("GET", f"/v3/tasks/{tid}/custom-fields", None),
        ("GET", custom, None),
        ("PATCH", custom, {"values": [checkbox.choices[0].id]}),
        ("GET", f"{custom}/choices", None),
    ]
    other = build_world(db, org_name="Other", prefix="o-")
    for method, url, payload in calls:
        r = client.request(method, url, json=payload, headers=other.auth())
        assert r.status_code == 404, (method, url, r.text)
        assert client.request(method, url, json=payload).status_code == 401, (method, url)
    assert [name for name, _ in events(db)] == ["task_added", "task_custom_field_modified"]
