"""Generic resource tests. A resource test class sets the paths, says how to make rows and
declares its write cases as data; ``ResourceTests`` then checks what every list / get /
create / update / delete operation must do (docs/development.md, "Generic resource tests").
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy.orm import Session

from tests.contract.spec import SPEC_AVAILABLE, find_operation
from tests.support.snapshot import Unchanged
from tests.support.world import World, build_world, stranger

ITEM_TESTS = ("test_get_own_item", "test_get_unknown_is_404", "test_get_without_token_is_401")
# Left out for lists that answer a plain array (``paged = False``).
PAGING_TESTS = (
    "test_page_size_bounds",
    "test_next_link_keeps_filters_and_is_encoded",
    "test_offset_past_the_end_is_an_empty_last_page",
)
# Each write group is collected only when its path attribute is set.
WRITE_GROUPS = {
    "create_path": ("test_create", "test_create_refusals"),
    "update_path": ("test_update", "test_update_refusals"),
    "delete_path": ("test_delete", "test_delete_refusals"),
}
UNKNOWN_FIELD = "bogus_field"
UNKNOWN_ID = "0" * 32
FORBIDDEN = {"message": "You do not have the permission to perform this operation"}
UNAUTHORIZED = {"message": "Unauthorized"}

# A valid body, or (body, the fields the item then shows: the subset of a get's answer).
Case = dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]
# An invalid body and the key its CMP error body must name in ``errors`` (any 4xx), or
# (body, key, status) when the status matters; key None (status required): a refusal the
# API does not pin on a field, e.g. a 404 for an unknown reference.
Refusal = tuple[dict[str, Any], str] | tuple[dict[str, Any], str | None, int]


def success_status(method: str, url: str, declared: int | None) -> int | None:
    """``declared``, else the one 2xx status the spec declares for the operation (None
    without the spec: any 2xx passes)."""
    if declared is not None or not SPEC_AVAILABLE:
        return declared
    op = find_operation(method, url)
    assert op is not None, f"{method} {url} is not in the spec: declare its status"
    statuses = [int(s) for s in op.responses if s.isdigit() and s.startswith("2")]
    assert len(statuses) == 1, f"{op.operation_id} declares {statuses}: declare its status"
    return statuses[0]


def check_success(r: Any, status: int | None, what: str) -> None:
    ok = r.status_code == status if status is not None else 200 <= r.status_code < 300
    assert ok, f"{what}: {r.status_code} {r.text}"
    if r.status_code == 204:
        assert r.content == b"", what


def fill(value: Any, refs: dict[str, str]) -> Any:
    """``value`` with every string that is exactly ``{name}`` of a known ref replaced."""
    if isinstance(value, str) and value[:1] == "{" and value[1:-1] in refs and value[-1] == "}":
        return refs[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, refs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(fill(v, refs) for v in value)
    return value


def split(case: Case) -> tuple[dict[str, Any], dict[str, Any] | None]:
    return case if isinstance(case, tuple) else (case, None)


def shows(actual: Any, expected: Any) -> bool:
    """``actual`` holds ``expected``: dicts by their keys (more keys are fine), lists item by
    item, anything else equal. A sent ``[{"name": "One"}]`` shows as ``[{"id": ..., "name":
    "One"}]``."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and shows(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(shows(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def check_item(
    item: dict[str, Any], body: dict[str, Any], expected: dict[str, Any] | None, what: str
) -> None:
    """The item shows ``expected``; without it, every body key the item also has."""
    if expected is None:
        expected = {k: v for k, v in body.items() if k in item}
    assert shows(item, expected), f"{what}: the item is {item}, expected {expected}"


def check_answer(r: Any, item: dict[str, Any], what: str) -> None:
    """A write's answer (when it has a body) agrees with what a get then shows."""
    if r.content:
        answer = r.json()
        assert {k: item.get(k) for k in answer} == answer, f"{what}: get shows {item}"


def error_body(shape: str, message: str) -> dict[str, Any]:
    """The error body of ``message`` in the CMP shape or FastAPI's (``HTTPException``)."""
    return {"detail": message} if shape == "fastapi" else {"message": message}


def named_fields(body: Any, shape: str = "cmp") -> set[str]:
    """The field paths an error body names: the CMP ``errors`` keys, or the dotted
    ``loc`` of FastAPI's ``detail`` entries without their first part (body/query/path)."""
    if shape == "fastapi":
        detail = body.get("detail")
        assert isinstance(detail, list), body
        return {".".join(entry["loc"][1:]) for entry in detail}
    return set(body.get("errors", {}))


def check_refused(
    r: Any, field: str | None, what: str, status: int | None = None, shape: str = "cmp"
) -> None:
    """A 4xx (``status`` if given) whose error body (CMP, or FastAPI's for ``shape``
    "fastapi") names ``field`` (if not None)."""
    assert field is not None or status is not None, (
        f"{what}: a refusal without a key needs a status"
    )
    ok = r.status_code == status if status is not None else 400 <= r.status_code < 500
    assert ok, f"{what}: {r.status_code} {r.text}"
    body = r.json()
    if shape == "fastapi":
        assert isinstance(body.get("detail"), str | list), f"{what}: {body}"
    else:
        assert isinstance(body.get("message"), str), f"{what}: {body}"
    if field is not None:
        names = named_fields(body, shape)
        assert field in names, f"{what}: {body} does not name {field!r}"


class ResourceTests:
    """Set ``list_path`` and ``item_path`` (with ``{id}``; None when the resource has no get
    operation, which leaves the get tests out) and implement ``make``. Write tests are
    opt-in: set ``create_path``, ``update_path`` or ``delete_path`` and their cases."""

    list_path: ClassVar[str]
    item_path: ClassVar[str | None]
    # Items the world already holds in the list (e.g. the world's own users).
    baseline: ClassVar[int] = 0
    # Extra query parameters every list request needs.
    list_query: ClassVar[dict[str, str]] = {}
    # The largest page_size the list accepts (listPublishingChannels: 1000).
    max_page_size: ClassVar[int] = 100

    # -- writes (paths may hold {parent}; update and delete paths hold {id}) ------------
    create_path: ClassVar[str | None] = None
    create_data: ClassVar[list[Case]] = []
    invalid_create: ClassVar[list[Refusal]] = []
    update_path: ClassVar[str | None] = None
    update_method: ClassVar[str] = "PATCH"
    update_data: ClassVar[list[Case]] = []
    invalid_update: ClassVar[list[Refusal]] = []
    delete_path: ClassVar[str | None] = None
    # Success statuses; None: the one 2xx the spec declares (set them outside /v3).
    create_status: ClassVar[int | None] = None
    update_status: ClassVar[int | None] = None
    delete_status: ClassVar[int | None] = None
    # Who writes, and who is refused every write with a 403.
    writer: ClassVar[str] = "member"
    forbidden: ClassVar[tuple[str, ...]] = ("viewer",)
    # The operations' error bodies: "cmp" or "fastapi" (the /structured-content/ ones).
    error_shape: ClassVar[str] = "cmp"
    # False: the list answers a plain array (no paging); the paging tests are left out.
    paged: ClassVar[bool] = True
    # The key holding an item's id in lists and gets.
    id_key: ClassVar[str] = "id"
    # False: the spec leaves the write bodies open (no ``additionalProperties: false``), so
    # an unknown field is ignored and not refused.
    closed_bodies: ClassVar[bool] = True
    # False: a write answers something other than the item (``{"created": true, ...}``),
    # so its answer is not compared with what a get shows.
    answers_item: ClassVar[bool] = True

    client: Any  # the test's contract-checking client, for ``make`` implementations

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Not collected at all (a skip would still build the database and the world).
        if getattr(cls, "item_path", "") is None:
            for name in ITEM_TESTS:
                setattr(cls, name, None)
        if not getattr(cls, "paged", True):
            for name in PAGING_TESTS:
                setattr(cls, name, None)
        for attribute, names in WRITE_GROUPS.items():
            if getattr(cls, attribute) is None:
                for name in names:
                    setattr(cls, name, None)

    @pytest.fixture(autouse=True)
    def _bind_client(self, client: Any, db: Session) -> None:
        self.client = client
        self.db = db
        self._parents: dict[str, str] = {}

    def parent(self, db: Session, world: World) -> str:
        """For lists under a parent (``list_path`` with ``{parent}``): create one."""
        raise NotImplementedError

    def parent_of(self, world: World) -> str:
        """The world's parent resource, created once per test."""
        if world.org.id not in self._parents:
            self._parents[world.org.id] = self.parent(self.db, world)
        return self._parents[world.org.id]

    def list_url(self, world: World) -> str:
        if "{parent}" not in self.list_path:
            return self.list_path
        return self.list_path.format(parent=self.parent_of(world))

    def make(self, db: Session, world: World, n: int) -> list[str]:
        """Create ``n`` visible items for the world's organization; return their ids."""
        raise NotImplementedError

    def prepare(self, db: Session, world: World) -> dict[str, str]:
        """Before the write cases run: create what they refer to (e.g. a name in use) and
        return the ids the cases name as ``"{name}"`` strings."""
        return {}

    def refs(self, db: Session, world: World, item_id: str | None = None) -> dict[str, str]:
        """What ``"{name}"`` strings in the cases stand for: the world's user ids by role,
        ``{team}``, ``{id}`` (the item an update targets), then ``prepare``'s ids."""
        refs = {role: user.id for role, user in world.users.items()} | {"team": world.team.id}
        if item_id is not None:
            refs["id"] = item_id
        return refs | self.prepare(db, world)

    def created_id(self, response: Any) -> str:
        """The id of the item a create answered with."""
        item_id: str = response.json()[self.id_key]
        return item_id

    def fetch(self, world: World, item_id: str) -> dict[str, Any] | None:
        """The item as a get answers it (admin's view), None when it is gone. Override it
        for resources read through a list filter; None ``item_path`` and no override: the
        write tests do not read back."""
        assert self.item_path is not None
        r = self.client.get(self._item(item_id), headers=world.auth())
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        item: dict[str, Any] = r.json()
        return item

    def readable(self) -> bool:
        return self.item_path is not None or type(self).fetch is not ResourceTests.fetch

    def url(self, template: str, world: World, item_id: str | None = None) -> str:
        """A write path with its ``{parent}`` and ``{id}`` filled in."""
        values = {"id": item_id}
        if "{parent}" in template:
            values["parent"] = self.parent_of(world)
        return template.format(**values)

    # -- helpers ---------------------------------------------------------------------
    def _item(self, item_id: str) -> str:
        assert self.item_path is not None
        return self.item_path.format(id=item_id)

    def _list(self, client: Any, world: World, **params: Any) -> Any:
        return client.get(
            self.list_url(world), params={**self.list_query, **params}, headers=world.auth()
        )

    def _walk(self, client: Any, world: World, page_size: int) -> list[str]:
        if not self.paged:
            r = client.get(self.list_url(world), params=self.list_query, headers=world.auth())
            assert r.status_code == 200, r.text
            assert isinstance(r.json(), list), r.text
            return [item[self.id_key] for item in r.json()]
        ids: list[str] = []
        url: str | None = self.list_url(world)
        params: dict[str, Any] | None = {**self.list_query, "page_size": page_size}
        pages = 0
        while url:
            r = client.get(url, params=params, headers=world.auth())
            assert r.status_code == 200, r.text
            body = r.json()
            assert len(body["data"]) <= page_size
            ids += [item[self.id_key] for item in body["data"]]
            if pages == 0:
                assert body["pagination"]["previous"] is None
            else:
                root = "/".join(self.list_url(world).split("/")[:2])  # /v3 or /ext
                assert body["pagination"]["previous"].startswith(f"https://testserver{root}/")
            url, params, pages = body["pagination"]["next"], None, pages + 1
            assert pages < 100, "pagination never ends"
        return ids

    def _unknown_field_case(self, valid: dict[str, Any]) -> list[Refusal]:
        return [({**valid, UNKNOWN_FIELD: 1}, UNKNOWN_FIELD, 422)] if self.closed_bodies else []

    # -- the tests -------------------------------------------------------------------
    def test_list_without_token_is_401(self, client: Any, world: World) -> None:
        r = client.get(self.list_url(world), params=self.list_query)
        assert r.status_code == 401
        assert r.json() == error_body(self.error_shape, "Unauthorized")

    def test_list_with_unknown_token_is_401(self, client: Any, world: World) -> None:
        r = client.get(self.list_url(world), headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert r.json() == error_body(self.error_shape, "Unauthorized")

    def test_unknown_query_parameter_is_named(self, client: Any, world: World) -> None:
        r = self._list(client, world, bogus_filter="1")
        assert r.status_code == (422 if self.error_shape == "fastapi" else 400)
        assert "bogus_filter" in named_fields(r.json(), self.error_shape)

    def test_page_size_bounds(self, client: Any, world: World) -> None:
        for bad in ("0", str(self.max_page_size + 1), "ten", "-1"):
            r = self._list(client, world, page_size=bad)
            assert r.status_code == 400, bad
            assert "page_size" in r.json()["errors"]
        r = self._list(client, world, offset="-1")
        assert r.status_code == 400
        assert "offset" in r.json()["errors"]

    def test_pagination_walk_reaches_every_item_once(
        self, client: Any, db: Session, world: World
    ) -> None:
        made = self.make(db, world, 7)
        ids = self._walk(client, world, page_size=3)
        assert len(ids) == len(set(ids)) == len(made) + self.baseline
        assert set(made) <= set(ids)

    def test_next_link_keeps_filters_and_is_encoded(
        self, client: Any, db: Session, world: World
    ) -> None:
        self.make(db, world, 3)
        r = self._list(client, world, page_size=1)
        nxt = r.json()["pagination"]["next"]
        assert nxt.startswith("https://testserver" + self.list_url(world) + "?")
        query = dict(parse_qsl(urlsplit(nxt).query))
        assert query["offset"] == "1"
        assert query["page_size"] == "1"
        for key, value in self.list_query.items():
            assert query[key] == value
        assert " " not in nxt and "{" not in nxt

    def test_offset_past_the_end_is_an_empty_last_page(self, client: Any, world: World) -> None:
        r = self._list(client, world, offset=1000)
        assert r.status_code == 200
        assert r.json()["data"] == []
        assert r.json()["pagination"]["next"] is None

    def test_get_own_item(self, client: Any, db: Session, world: World) -> None:
        (item_id,) = self.make(db, world, 1)
        r = client.get(self._item(item_id), headers=world.auth())
        assert r.status_code == 200, r.text
        assert r.json()[self.id_key] == item_id

    def test_get_unknown_is_404(self, client: Any, world: World) -> None:
        r = client.get(self._item("0" * 32), headers=world.auth())
        assert r.status_code == 404
        if self.error_shape == "fastapi":
            assert isinstance(r.json()["detail"], str), r.text
        else:
            assert r.json() == {"message": "Resource not found"}

    def test_get_without_token_is_401(self, client: Any, db: Session, world: World) -> None:
        (item_id,) = self.make(db, world, 1)
        assert client.get(self._item(item_id)).status_code == 401

    def test_other_organization_is_invisible(self, client: Any, db: Session, world: World) -> None:
        other = build_world(db, org_name="Other", prefix="other-")
        (theirs,) = self.make(db, other, 1)
        if self.item_path is not None:
            r = client.get(self._item(theirs), headers=world.auth())
            assert r.status_code == 404
        ids = self._walk(client, world, page_size=100)
        assert theirs not in ids

    # -- create ----------------------------------------------------------------------
    def test_create(self, client: Any, db: Session, world: World) -> None:
        assert self.create_path is not None and self.create_data, "create_data is empty"
        data: list[Case] = fill(self.create_data, self.refs(db, world))
        url = self.url(self.create_path, world)
        status = success_status("POST", url, self.create_status)
        for n, case in enumerate(data):
            body, shows = split(case)
            what = f"create_data[{n}]"
            r = client.post(url, json=body, headers=world.auth(self.writer))
            check_success(r, status, what)
            if self.readable():
                item = self.fetch(world, self.created_id(r))
                assert item is not None, f"{what}: created but not found"
                check_item(item, body, shows, what)
                if self.answers_item:
                    check_answer(r, item, what)

    def test_create_refusals(self, client: Any, db: Session, world: World) -> None:
        assert self.create_path is not None and self.create_data, "create_data is empty"
        refs = self.refs(db, world)
        url = self.url(self.create_path, world)
        valid = split(fill(self.create_data[0], refs))[0]
        invalid: list[Refusal] = fill(self.invalid_create, refs)
        cases = [*invalid, *self._unknown_field_case(valid)]
        unchanged = Unchanged(db)
        for n, (body, field, *status) in enumerate(cases):
            what = f"invalid_create[{n}]" if n < len(self.invalid_create) else "unknown field"
            r = client.post(url, json=body, headers=world.auth(self.writer))
            check_refused(r, field, what, *status, shape=self.error_shape)
            unchanged.after(what)
        self._check_denied(world, "POST", url, valid, unchanged)

    # -- update ----------------------------------------------------------------------
    def test_update(self, client: Any, db: Session, world: World) -> None:
        assert self.update_path is not None and self.update_data, "update_data is empty"
        (item_id,) = self.make(db, world, 1)
        data: list[Case] = fill(self.update_data, self.refs(db, world, item_id))
        url = self.url(self.update_path, world, item_id)
        status = success_status(self.update_method, url, self.update_status)
        previous = self.fetch(world, item_id) if self.readable() else None
        for n, case in enumerate(data):
            body, shows = split(case)
            what = f"update_data[{n}]"
            r = client.request(self.update_method, url, json=body, headers=world.auth(self.writer))
            check_success(r, status, what)
            if self.readable():
                item = self.fetch(world, item_id)
                assert item is not None and item != previous, f"{what}: no change visible"
                check_item(item, body, shows, what)
                if self.answers_item:
                    check_answer(r, item, what)
                previous = item

    def test_update_refusals(self, client: Any, db: Session, world: World) -> None:
        assert self.update_path is not None and self.update_data, "update_data is empty"
        (item_id,) = self.make(db, world, 1)
        refs = self.refs(db, world, item_id)
        url = self.url(self.update_path, world, item_id)
        valid = split(fill(self.update_data[0], refs))[0]
        invalid: list[Refusal] = fill(self.invalid_update, refs)
        cases = [*invalid, *self._unknown_field_case(valid)]
        other = stranger(db)
        unchanged = Unchanged(db)
        for n, (body, field, *status) in enumerate(cases):
            what = f"invalid_update[{n}]" if n < len(self.invalid_update) else "unknown field"
            r = client.request(self.update_method, url, json=body, headers=world.auth(self.writer))
            check_refused(r, field, what, *status, shape=self.error_shape)
            unchanged.after(what)
        unknown = self.url(self.update_path, world, UNKNOWN_ID)
        r = client.request(self.update_method, unknown, json=valid, headers=world.auth())
        assert r.status_code == 404, f"unknown id: {r.status_code} {r.text}"
        r = client.request(self.update_method, url, json=valid, headers=other)
        assert r.status_code == 404, f"other organization: {r.status_code} {r.text}"
        self._check_denied(world, self.update_method, url, valid, unchanged)

    # -- delete ----------------------------------------------------------------------
    def test_delete(self, client: Any, db: Session, world: World) -> None:
        assert self.delete_path is not None
        (item_id,) = self.make(db, world, 1)
        url = self.url(self.delete_path, world, item_id)
        r = client.delete(url, headers=world.auth(self.writer))
        check_success(r, success_status("DELETE", url, self.delete_status), "delete")
        if self.readable():
            assert self.fetch(world, item_id) is None, "deleted but still found"
        assert client.delete(url, headers=world.auth(self.writer)).status_code == 404
        unknown = self.url(self.delete_path, world, UNKNOWN_ID)
        assert client.delete(unknown, headers=world.auth()).status_code == 404

    def test_delete_refusals(self, client: Any, db: Session, world: World) -> None:
        assert self.delete_path is not None
        (item_id,) = self.make(db, world, 1)
        url = self.url(self.delete_path, world, item_id)
        other = stranger(db)
        unchanged = Unchanged(db)
        r = client.delete(url, headers=other)
        assert r.status_code == 404, f"other organization: {r.status_code} {r.text}"
        self._check_denied(world, "DELETE", url, None, unchanged)

    def _check_denied(
        self, world: World, method: str, url: str, body: Any, unchanged: Unchanged
    ) -> None:
        """Forbidden roles get a 403, no token a 401; then nothing at all has changed."""
        for who in self.forbidden:
            r = self.client.request(method, url, json=body, headers=world.auth(who))
            forbidden = error_body(self.error_shape, FORBIDDEN["message"])
            assert (r.status_code, r.json()) == (403, forbidden), f"{who}: {r.text}"
            unchanged.after(f"{method} as {who}")
        r = self.client.request(method, url, json=body)
        unauthorized = error_body(self.error_shape, UNAUTHORIZED["message"])
        assert (r.status_code, r.json()) == (401, unauthorized), f"no token: {r.text}"
        unchanged.finally_(f"the refused {method} requests")
