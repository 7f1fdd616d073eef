"""The generic repository: scoping, paging, counting, add/update/delete."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cmpapi.server.db.repository import LOOKUP_MAX, Repository, lookup
from cmpapi.server.errors import NotFound
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Team, User
from tests.support.world import World, build_world


def test_crud_and_scoping(db: Session, world: World) -> None:
    other = build_world(db, org_name="Other", prefix="o-")
    repo = Repository(Team, db, world.org.id)
    team = repo.add(Team(name="New"))
    assert team.org_id == world.org.id
    assert repo.get(team.id).name == "New"
    repo.update(team, {"name": "Newer"})
    assert repo.find(Team.name == "Newer") is team
    with pytest.raises(NotFound):
        repo.get(other.team.id)  # another organization's row
    with pytest.raises(AttributeError):
        repo.update(team, {"no_such_column": 1})
    repo.delete(team)
    with pytest.raises(NotFound):
        repo.get(team.id)


def test_paging_and_total(db: Session, world: World) -> None:
    for i in range(5):
        identity.create_team(db, world.org.id, f"T{i}")
    repo = Repository(Team, db, world.org.id)
    assert repo.count() == 6
    first = repo.list(order_by=[Team.name], offset=0, page_size=4, with_total=True)
    assert (len(first.items), first.has_next, first.has_previous, first.total) == (
        4,
        True,
        False,
        6,
    )
    last = repo.list(order_by=[Team.name], offset=4, page_size=4)
    assert (len(last.items), last.has_next, last.has_previous, last.total) == (2, False, True, None)
    assert not {t.id for t in first.items} & {t.id for t in last.items}
    assert repo.count(Team.name.like("T%")) == 5


# Module-level, as ``rows`` asks: its statements are cached by their parts' identity.
_ROW_COLUMNS = (User.id, User.created_at, User.is_active, User.role)
_MEMBERS = User.role == "member"  # a constant of the statement (an anonymous parameter)
_NAMED = User.first_name.in_(["Ann", "Bob"])  # an expanding IN: not preparable


def test_rows_are_the_values_sqlalchemy_reads(db: Session, world: World) -> None:
    """``rows`` runs its statement prepared (``db/prepared.py``): the same rows, typed the
    same (datetimes and booleans through the dialect's processors), with attribute access,
    on both backends; a statement that cannot be prepared is executed the usual way."""
    for i, name in enumerate(["Ann", "Bob", "Cid"]):
        identity.create_user(
            db, world.org.id, email=f"{name.lower()}@example.com", name=name, role="member"
        )
        if i == 2:
            db.flush()  # written in the open transaction: the read must see it
    repo = Repository(User, db, world.org.id)
    page = repo.rows(_ROW_COLUMNS, _MEMBERS, order_by=(User.created_at,), page_size=10)
    expected = db.execute(
        select(*_ROW_COLUMNS)
        .where(User.org_id == world.org.id, _MEMBERS)
        .order_by(User.created_at, User.id)
    ).all()
    assert [tuple(r) for r in page.items] == [tuple(r) for r in expected]
    assert len(page.items) >= 3 and not page.has_next
    first = page.items[0]
    assert isinstance(first.created_at, datetime) and first.is_active is True
    assert first.role == "member" and first.id == expected[0].id
    named = repo.rows(_ROW_COLUMNS, _NAMED, order_by=(User.created_at,), page_size=1)
    assert len(named.items) == 1 and named.has_next


_BY_ROLE = User.role == bindparam("role")  # a per-request value, given in ``params``
_NEWEST = (User.created_at.desc(),)


def test_rows_pages_match_list_at_every_offset(db: Session, world: World) -> None:
    """A page at an offset reads the skipped ids first, then the page by id (the deferred
    join): each page holds the rows ``list`` gives at that offset, in the same order, with a
    per-request parameter; ``cache=False`` (a condition built per request) gives them too."""
    for i in range(7):
        role = ("member", "viewer")[i % 2]
        identity.create_user(db, world.org.id, email=f"u{i}@example.com", name=f"U{i}", role=role)
    repo = Repository(User, db, world.org.id)
    for role in ("member", "viewer"):
        where = User.role == role
        expected = [u.id for u in repo.list(where, order_by=_NEWEST, page_size=100).items]
        assert len(expected) >= 3
        for offset in range(len(expected) + 1):
            for cache in (True, False):
                page = repo.rows(
                    _ROW_COLUMNS,
                    _BY_ROLE,
                    order_by=_NEWEST,
                    offset=offset,
                    page_size=2,
                    params={"role": role},
                    cache=cache,
                )
                assert [r.id for r in page.items] == expected[offset : offset + 2]
                assert page.has_next == (offset + 2 < len(expected))
                assert page.has_previous == (offset > 0)


_LOOKUP_COLUMNS = (User.id, User.first_name)
_OF_ORG = User.org_id == bindparam("org_id")


def test_lookup_reads_the_rows_of_any_number_of_keys(db: Session, world: World) -> None:
    """``lookup`` pads its keys to a size class: every size (duplicates, unknown keys, more
    than ``LOOKUP_MAX``) reads exactly the rows of the keys given, with a condition."""
    made = [
        identity.create_user(db, world.org.id, email=f"k{i}@example.com", name=f"K{i}")
        for i in range(6)
    ]
    other = build_world(db, org_name="Other", prefix="o-")
    ids = [u.id for u in made]
    for n in range(len(ids) + 1):
        keys = [*ids[:n], *ids[:n], "no-such-user", other.users["member"].id]
        found = lookup(db, _LOOKUP_COLUMNS, User.id, keys, _OF_ORG, params={"org_id": world.org.id})
        assert sorted(r.id for r in found) == sorted(ids[:n])
        assert all(r.first_name == f"K{ids.index(r.id)}" for r in found)
    many = [*ids, *(f"missing-{i}" for i in range(LOOKUP_MAX))]
    assert sorted(r.id for r in lookup(db, _LOOKUP_COLUMNS, User.id, many)) == sorted(ids)
    assert lookup(db, _LOOKUP_COLUMNS, User.id, []) == []
