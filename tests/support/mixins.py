"""Generic resource tests. A resource test class sets the paths and says how to make rows;
these mixins then check what every list/get operation must do.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy.orm import Session

from tests.support.world import World, build_world

ITEM_TESTS = ("test_get_own_item", "test_get_unknown_is_404", "test_get_without_token_is_401")


class ResourceTests:
    """Set ``list_path`` and ``item_path`` (with ``{id}``; None when the resource has no get
    operation, which leaves the get tests out) and implement ``make``."""

    list_path: ClassVar[str]
    item_path: ClassVar[str | None]
    # Items the world already holds in the list (e.g. the world's own users).
    baseline: ClassVar[int] = 0
    # Extra query parameters every list request needs.
    list_query: ClassVar[dict[str, str]] = {}

    client: Any  # the test's contract-checking client, for ``make`` implementations

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "item_path", "") is None:
            # Not collected at all (a skip would still build the database and the world).
            for name in ITEM_TESTS:
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

    # -- helpers ---------------------------------------------------------------------
    def _item(self, item_id: str) -> str:
        assert self.item_path is not None
        return self.item_path.format(id=item_id)

    def _list(self, client: Any, world: World, **params: Any) -> Any:
        return client.get(
            self.list_url(world), params={**self.list_query, **params}, headers=world.auth()
        )

    def _walk(self, client: Any, world: World, page_size: int) -> list[str]:
        ids: list[str] = []
        url: str | None = self.list_url(world)
        params: dict[str, Any] | None = {**self.list_query, "page_size": page_size}
        pages = 0
        while url:
            r = client.get(url, params=params, headers=world.auth())
            assert r.status_code == 200, r.text
            body = r.json()
            assert len(body["data"]) <= page_size
            ids += [item["id"] for item in body["data"]]
            if pages == 0:
                assert body["pagination"]["previous"] is None
            else:
                assert body["pagination"]["previous"].startswith("https://testserver/v3/")
            url, params, pages = body["pagination"]["next"], None, pages + 1
            assert pages < 100, "pagination never ends"
        return ids

    # -- the tests -------------------------------------------------------------------
    def test_list_without_token_is_401(self, client: Any, world: World) -> None:
        r = client.get(self.list_url(world), params=self.list_query)
        assert r.status_code == 401
        assert r.json() == {"message": "Unauthorized"}

    def test_list_with_unknown_token_is_401(self, client: Any, world: World) -> None:
        r = client.get(self.list_url(world), headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert r.json() == {"message": "Unauthorized"}

    def test_unknown_query_parameter_is_named(self, client: Any, world: World) -> None:
        r = self._list(client, world, bogus_filter="1")
        assert r.status_code == 400
        assert "bogus_filter" in r.json()["errors"]

    def test_page_size_bounds(self, client: Any, world: World) -> None:
        for bad in ("0", "101", "ten", "-1"):
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
        assert r.json()["id"] == item_id

    def test_get_unknown_is_404(self, client: Any, world: World) -> None:
        r = client.get(self._item("0" * 32), headers=world.auth())
        assert r.status_code == 404
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
