"""listAssets pages walked in the order of the filter's own index rows.

A label value's rows (``AssetLabel``) and an asset key's rows (``AssetKey``: the assets of a
folder and of the folders below it, a user's or team's ACL entries, a field's short value)
carry their asset's ``modified_at``, so each is an index walked in listAssets' order (an
*arm*).
A filter is a union of arms (a label group's values, a field's values, a member's granted
folders and grants), and the filters of a request are intersected:

- the filter holding the fewest assets (by the counts, ``library_counts``) drives: its
  arms are walked in page order, several merged by the database (SQLite's merge of a
  compound select, PostgreSQL's Merge Append);
- every other filter is a probe of each walked entry (an index seek by asset id);
- arms of one filter are made disjoint (each skips the assets of the arms before it), so
  a merge needs no de-duplication, which would read every entry (a HashAggregate on
  PostgreSQL: 33 ms for a member's 20,000 assets).

A page at offset 10,000 then reads ~10,000 entries of its own filter, whatever the size of
the library; walking the organization's order instead read ``offset / share`` entries
with a probe each (a 15 % field value: 142 ms at 100,000 assets; bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from cmpapi.server.db.repository import Names, Page, bound, padded, read, shaped
from cmpapi.server.resources.labels.tables import LabelValue
from cmpapi.server.resources.library.acl import FolderIds
from cmpapi.server.resources.library.tables import (
    ASSET_COLUMNS,
    Asset,
    AssetCount,
    AssetKey,
    AssetLabel,
)

LABEL = "label"  # an arm of AssetLabel rows; the other kinds are AssetKey's
Walk = Select[datetime | None, str]  # (modified_at, asset_id) in an index's order


@dataclass(frozen=True, slots=True)
class Arm:
    """The assets under one key: ``(kind, key, sub)`` of ``AssetKey``, or a label value."""

    kind: str
    key: str
    sub: str = ""


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """Assets under any of ``arms``. ``counted``: the ``library_counts`` rows whose sum
    bounds how many (None: unknown, so never chosen to drive before a counted filter)."""

    arms: tuple[Arm, ...]
    counted: tuple[ColumnElement[bool], ...] | None = None

    def size(self, session: Session) -> float:
        """How many assets it holds at most (infinite when not counted)."""
        if self.counted is None:
            return float("inf")
        return int(session.scalar(select(func.sum(AssetCount.n)).where(*self.counted)) or 0)


def page(
    session: Session, org_id: str, filters: Sequence[KeyFilter], offset: int, size: int
) -> Page[Any]:
    """The page of assets under every filter, newest change first (rows of
    ``ASSET_COLUMNS``)."""
    ordered = sorted(filters, key=lambda f: f.size(session)) if len(filters) > 1 else filters
    driver, probes = ordered[0], ordered[1:]
    arms = _nonempty(session, driver.arms)
    if not arms:  # no asset holds any of its keys
        return Page([], offset, size, False)
    values: list[Any] = []  # in the order the statement binds them: arm after arm
    shape = tuple(
        (
            _walk_shape(arm, values),
            tuple(_holds_shape(p.arms, values) for p in probes),
            _holds_shape(arms[:n], values) if n else None,  # listed by an earlier arm
        )
        for n, arm in enumerate(arms)
    )
    params = bound(values) | {"offset": offset, "limit": size + 1}
    rows = [a for a in read(session, shaped(_page, shape), params) if a.org_id == org_id]
    return Page(rows[:size], offset, size, len(rows) > size)


# A request's keys are bound parameters, in the order the shape is walked: a shape is
# built once (``repository.shaped``; a member's deep page built its statements in ~2.5 of
# its 5 ms, holding the event loop, bench/hol.py).
WalkShape = str  # LABEL or "key": one value (the label value) or three (kind, key, sub)
HoldsShape = tuple[int, tuple[tuple[str, int], ...]]  # labels; (column, list size) groups


def _page(shape: tuple[Any, ...], names: Names) -> Select[Any]:
    walks: list[Walk] = []
    for walk_shape, probe_shapes, skip_shape in shape:
        walk = _walk(walk_shape, names)
        asset_id = walk.selected_columns.asset_id
        walk = walk.where(*(_holds(p, names, asset_id) for p in probe_shapes))
        if skip_shape is not None:  # an asset of an earlier arm was listed there
            walk = walk.where(~_holds(skip_shape, names, asset_id))
        walks.append(walk)
    offset, limit = bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)
    if len(walks) == 1:
        ids = _newest_first(walks[0]).offset(offset).limit(limit).subquery()
    else:
        # Each arm ordered in a subquery: PostgreSQL merges ordered inputs (Merge Append)
        # only then; without, it sorted every entry of every arm. SQLite merges either way.
        merged = union_all(*(select(_newest_first(w).subquery()) for w in walks)).subquery()
        ids = (
            select(merged)
            .order_by(merged.c.modified_at.desc(), merged.c.asset_id.desc())
            .offset(offset)
            .limit(limit)
            .subquery()
        )
    # The organization is checked on the page's rows, not in SQL: with an org_id term
    # SQLite (no statistics) walked the org's assets instead of looking up the page's ids
    # (100,000 assets: 35 -> ~1 ms). The keys the filters name are the organization's
    # (resolved before), so the check never drops a row; it only keeps the query honest.
    columns: tuple[Any, ...] = ASSET_COLUMNS
    stmt = select(*columns).where(Asset.id.in_(select(ids.c.asset_id)))
    return stmt.order_by(Asset.modified_at.desc(), Asset.id.desc())


def _nonempty(session: Session, arms: tuple[Arm, ...]) -> tuple[Arm, ...]:
    """The arms holding any row (one index seek each, in one query): a member's teams and
    own grants are often empty, and one walk costs less than a merge (SQLite, offset
    10,000 of 100,000 assets: 0.9 against 3.2 ms)."""
    if len(arms) < 2:
        return arms
    values: list[Any] = []
    shape = tuple(_walk_shape(a, values) for a in arms)
    (held,) = read(session, shaped(_exists, shape), bound(values))
    return tuple(a for a, h in zip(arms, held, strict=True) if h)


def _exists(shape: tuple[WalkShape, ...], names: Names) -> Select[Any]:
    held: list[Any] = [exists(_walk(w, names)).label(f"a{n}") for n, w in enumerate(shape)]
    return select(*held)


def _newest_first(walk: Walk) -> Walk:
    columns = walk.selected_columns
    return walk.order_by(columns.modified_at.desc(), columns.asset_id.desc())


def _walk_shape(arm: Arm, values: list[Any]) -> WalkShape:
    if arm.kind == LABEL:
        values.append(arm.key)
        return LABEL
    values += (arm.kind, arm.key, arm.sub)
    return "key"


# Core aliases, not ORM ones: aliased() cost ~2 ms per arm and probe to build.
def _walk(shape: WalkShape, names: Names) -> Walk:
    """The arm's rows as ``(modified_at, asset_id)``."""
    if shape == LABEL:
        label = AssetLabel.__table__.alias()
        return select(label.c.modified_at, label.c.asset_id).where(label.c.value_id == names())
    key = AssetKey.__table__.alias()
    return select(key.c.modified_at, key.c.asset_id).where(
        key.c.kind == names(), key.c.key == names(), key.c.sub == names()
    )


def _holds_shape(arms: Iterable[Arm], values: list[Any]) -> HoldsShape:
    """Whether an asset is under one of the arms: an index seek by asset id per group of
    arms sharing their kind and key (or their kind and sub). Each group is exact: one key
    with any of its subs, or one sub with any of its keys."""
    arms = list(arms)
    labels = [a.key for a in arms if a.kind == LABEL]
    labels = padded(labels) if labels else []  # a shape per size class of each list
    values += labels
    groups: list[tuple[str, int]] = []
    for kind, pairs in _by_kind(a for a in arms if a.kind != LABEL).items():
        by_key: dict[str, list[str]] = {}
        by_sub: dict[str, list[str]] = {}
        for key_, sub in pairs:
            by_key.setdefault(key_, []).append(sub)
            by_sub.setdefault(sub, []).append(key_)
        column, chosen = ("key", by_key) if len(by_key) <= len(by_sub) else ("sub", by_sub)
        for first, others in chosen.items():
            listed = padded(others)
            values += (kind, first, *listed)
            groups.append((column, len(listed)))
    return len(labels), tuple(groups)


def _holds(shape: HoldsShape, names: Names, asset_id: ColumnElement[Any]) -> ColumnElement[bool]:
    labels, groups = shape
    terms: list[ColumnElement[bool]] = []
    if labels:
        label = AssetLabel.__table__.alias()
        wanted = names.many(labels)
        terms.append(exists().where(label.c.asset_id == asset_id, label.c.value_id.in_(wanted)))
    for column, others in groups:
        key = AssetKey.__table__.alias()
        first, other = (key.c.key, key.c.sub) if column == "key" else (key.c.sub, key.c.key)
        kind, value = names(), names()
        listed = names.many(others)
        terms.append(
            exists().where(
                key.c.asset_id == asset_id, key.c.kind == kind, first == value, other.in_(listed)
            )
        )
    return or_(*terms) if terms else false()


def _by_kind(arms: Iterable[Arm]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for arm in arms:
        out.setdefault(arm.kind, []).append((arm.key, arm.sub))
    return out


def label_filter(session: Session, org_id: str, value_ids: Sequence[str]) -> KeyFilter:
    """Assets holding any of the label values (the organization's; others match none)."""
    known = set(
        session.scalars(
            select(LabelValue.id).where(LabelValue.org_id == org_id, LabelValue.id.in_(value_ids))
        )
    )
    arms = tuple(Arm(LABEL, v) for v in dict.fromkeys(value_ids) if v in known)
    return KeyFilter(arms, (AssetCount.kind == "label", AssetCount.key.in_(sorted(known))))


def field_filter(field_id: str, values: Sequence[str]) -> KeyFilter:
    """Assets holding any of the (short) values in the field (a field of the organization)."""
    unique = list(dict.fromkeys(values))
    counted = (AssetCount.kind == "field", AssetCount.key == field_id, AssetCount.sub.in_(unique))
    return KeyFilter(tuple(Arm("field", field_id, v) for v in unique), counted)


def folder_filter(org_id: str, folder_id: str, subtree: FolderIds) -> KeyFilter:
    """Assets in the folder or below it; ``subtree``: the ids of those folders."""
    counted = (
        AssetCount.kind == "asset",
        AssetCount.org_id == org_id,
        AssetCount.key.in_(subtree),
    )
    return KeyFilter((Arm("folder", folder_id),), counted)


def visible_filter(roots: Iterable[str], accessors: Iterable[tuple[str, str]]) -> KeyFilter:
    """Assets below a granted folder (``roots``: none below another) or granted directly to
    one of ``accessors`` ((id, "user" | "team")). Folders first: the grants then skip what
    the folders listed, which is most of them when a member uploads into a shared folder."""
    arms = [Arm("folder", r) for r in roots] + [Arm("grant", i, t) for i, t in accessors]
    return KeyFilter(tuple(arms))
