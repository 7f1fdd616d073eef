"""Labels (tag "Labels"): label groups and the labels objects carry.

``listLabelGroups`` is the tag's only operation; groups are created by the CLI and the demo
seed (``create_label_group``). Resources that carry labels (assets, tasks, campaigns) store
value ids themselves; they check the spec's ``ResourceLabelRequest`` items with
``validate_resource_labels`` and render ``ResourceLabelResponse`` with ``load_label_names``
and ``resource_labels``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id
from cmpapi.server.db.repository import Page, Repository, lookup
from cmpapi.server.errors import Invalid
from cmpapi.server.resources.labels import mapping
from cmpapi.server.resources.labels.mapping import CURRENT
from cmpapi.server.resources.labels.tables import LabelGroup, LabelValue

BY_NAME = (LabelGroup.name,)
# What a page reads (``Repository.rows`` and ``lookup`` prepare them once).
LIST_COLUMNS = (LabelGroup.id, LabelGroup.name)
VALUE_COLUMNS = (LabelValue.id, LabelValue.group_id, LabelValue.name, LabelValue.position)


def list_label_groups(
    session: Session,
    principal: Principal,
    source_org_type: str | None,
    offset: int,
    page_size: int,
) -> tuple[Page[Any], dict[str, list[Any]]]:
    """The organization's label groups by name (rows of ``LIST_COLUMNS``) and each group's
    values in display order (``group id -> rows of VALUE_COLUMNS``: the relationship an
    ORM load brings along, read for the page at once); ``related`` lists none (see
    CURRENT)."""
    require(principal, "labels:read")
    if source_org_type not in (None, CURRENT):
        return Page([], offset, page_size, has_next=False), {}
    page = Repository(LabelGroup, session, principal.org_id).rows(
        LIST_COLUMNS, order_by=BY_NAME, offset=offset, page_size=page_size
    )
    values: dict[str, list[Any]] = {g.id: [] for g in page.items}
    for v in sorted(
        lookup(session, VALUE_COLUMNS, LabelValue.group_id, values), key=lambda v: v.position
    ):
        values[v.group_id].append(v)
    return page, values


def create_label_group(
    session: Session,
    org_id: str,
    name: str,
    values: Sequence[str],
    *,
    has_single_value: bool = False,
    id_: str | None = None,
    value_ids: Sequence[str] = (),
) -> LabelGroup:
    """Create a group with its values (flushed, not committed). Group names are unique per
    organization and value names per group, case-insensitively (``Invalid``)."""
    repo = Repository(LabelGroup, session, org_id)
    name = name.strip()
    if not name or repo.find(func.lower(LabelGroup.name) == name.lower()):
        raise Invalid("Label group names are unique and not blank", {"name": "Already in use"})
    names = [v.strip() for v in values]
    if not all(names) or len({n.lower() for n in names}) != len(names):
        raise Invalid("Label values are unique and not blank", {"values": "Duplicate or blank"})
    group = LabelGroup(
        id=id_ or new_id(), org_id=org_id, name=name, has_single_value=has_single_value
    )
    ids = iter(value_ids)
    for position, value in enumerate(names):
        group.values.append(
            LabelValue(id=next(ids, None) or new_id(), org_id=org_id, name=value, position=position)
        )
    return repo.add(group)


# -- labels on objects -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedLabel:
    """A ``ResourceLabelRequest`` item, checked: the group and the chosen values."""

    group: LabelGroup
    values: list[LabelValue]


def validate_resource_labels(
    session: Session, org_id: str, requests: Sequence[Mapping[str, Any]], where: str = "labels"
) -> list[CheckedLabel]:
    """Check ``ResourceLabelRequest`` items, as dumped (``{"group": id, "values": [id]}``):
    known group, values of that group, one value at most for single-value groups, each
    group once. ``Invalid`` names the item: ``"labels.0.group"``, ``"labels.0.values"``."""
    ids = {r["group"] for r in requests}
    groups = {
        g.id: g
        for g in session.scalars(
            select(LabelGroup).where(LabelGroup.org_id == org_id, LabelGroup.id.in_(ids))
        )
    }
    errors: dict[str, str] = {}
    out: list[CheckedLabel] = []
    for n, request in enumerate(requests):
        group = groups.get(request["group"])
        if group is None or any(c.group.id == group.id for c in out):
            errors[f"{where}.{n}.group"] = "Unknown label group" if group is None else "Repeated"
            continue
        by_id = {v.id: v for v in group.values}
        wanted = list(request["values"])
        chosen = [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
        if len(chosen) != len(set(wanted)):
            errors[f"{where}.{n}.values"] = "Not values of this label group"
        elif group.has_single_value and len(chosen) > 1:
            errors[f"{where}.{n}.values"] = "This label group takes a single value"
        out.append(CheckedLabel(group, chosen))
    if errors:
        raise Invalid("Invalid labels", errors)
    return out


LabelNames = dict[str, tuple[str, str, str]]


# A value's id, group and names (``lookup``: module-level, distinct names).
_NAME_COLUMNS = (
    LabelValue.id,
    LabelGroup.id.label("group_id"),
    LabelGroup.name.label("group_name"),
    LabelValue.name,
)
_NAMED_IN_ORG = (LabelGroup.id == LabelValue.group_id, LabelValue.org_id == bindparam("org_id"))


def load_label_names(session: Session, org_id: str, value_ids: Iterable[str]) -> LabelNames:
    """``value id -> (group id, group name, value name)`` for the known ids (one query);
    load once for a page of objects, then render each with ``resource_labels``."""
    rows = lookup(
        session, _NAME_COLUMNS, LabelValue.id, value_ids, *_NAMED_IN_ORG, params={"org_id": org_id}
    )
    return {value_id: (gid, gname, vname) for value_id, gid, gname, vname in rows}


def resource_labels(value_ids: Iterable[str], names: LabelNames) -> list[dict[str, Any]]:
    """An object's labels as the spec's ``ResourceLabelResponse``s (plain data): its value
    ids grouped by label group in first-seen order; ids of deleted values are left out."""
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for value_id in dict.fromkeys(value_ids):
        if value_id in names:
            group_id, group_name, value_name = names[value_id]
            grouped[(group_id, group_name)].append((value_id, value_name))
    return [mapping.resource_label(*group, values) for group, values in grouped.items()]
