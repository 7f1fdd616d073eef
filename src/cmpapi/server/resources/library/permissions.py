"""Permission lists and grants of folders and assets: one implementation for both.

A resource kind registers how to load one of its rows for viewing and for managing
(``register``); the operations below then work the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.identity.tables import Team, User
from cmpapi.server.resources.library import acl
from cmpapi.server.resources.library.tables import AclEntry


@dataclass(frozen=True, slots=True)
class PermissionView:
    entry: AclEntry
    name: str


class Loader(Protocol):
    def __call__(
        self, session: Session, principal: Principal, resource_id: str, manage: bool
    ) -> Any: ...


_LOADERS: dict[str, Loader] = {}


def register(kind: str) -> Callable[[Loader], Loader]:
    """Register the loader of a resource kind: 404/403 for the caller, or the row."""

    def add(loader: Loader) -> Loader:
        _LOADERS[kind] = loader
        return loader

    return add


def list_permissions(
    session: Session,
    principal: Principal,
    kind: str,
    resource_id: str,
    filters: Mapping[str, str | None],
) -> list[PermissionView]:
    """The entries set on the resource, filtered by access level, with accessor names."""
    _LOADERS[kind](session, principal, resource_id, False)
    rows = acl.level_filter(
        acl.entries(session, principal.org_id, kind, resource_id),
        filters.get("access"),
        filters.get("min_access"),
        filters.get("max_access"),
    )
    return _named(session, rows)


def add_permissions(
    session: Session, principal: Principal, kind: str, resource_id: str, body: Any
) -> None:
    """Grant users or teams access (an existing grant is replaced)."""
    require(principal, "library:write")
    _LOADERS[kind](session, principal, resource_id, True)
    accessor_type = str(body.type)
    for i, item in enumerate(body.permissions):
        _check_accessor(session, principal.org_id, accessor_type, item.id, f"permissions.{i}.id")
        acl.grant(
            session,
            principal.org_id,
            (kind, resource_id),
            (accessor_type, item.id),
            acl.LEVELS[str(item.access_type)],
            is_owner=item.is_owner,
        )
    session.commit()


def update_permission(
    session: Session,
    principal: Principal,
    kind: str,
    resource_id: str,
    accessor_id: str,
    body: Any,
) -> None:
    """Change an accessor's level and/or ownership; the last owner cannot step down."""
    require(principal, "library:write")
    _LOADERS[kind](session, principal, resource_id, True)
    entry = _entry(session, principal.org_id, kind, resource_id, accessor_id)
    if body.is_owner is not MISSING:
        if not body.is_owner and entry.is_owner:
            _keep_an_owner(session, principal.org_id, kind, resource_id)
        entry.is_owner = body.is_owner
    if body.access_type is not MISSING:
        entry.level = acl.LEVELS[str(body.access_type)]
    if entry.is_owner:
        entry.level = acl.FULL
    session.commit()


def remove_permission(
    session: Session, principal: Principal, kind: str, resource_id: str, accessor_id: str
) -> None:
    """Remove an accessor's grant; owners cannot be removed (demote them first)."""
    require(principal, "library:write")
    _LOADERS[kind](session, principal, resource_id, True)
    entry = _entry(session, principal.org_id, kind, resource_id, accessor_id)
    if entry.is_owner:
        raise Invalid("The accessor is an owner: owners cannot be removed")
    session.delete(entry)
    session.commit()


def _entry(
    session: Session, org_id: str, kind: str, resource_id: str, accessor_id: str
) -> AclEntry:
    entry = session.scalars(
        select(AclEntry).where(
            AclEntry.org_id == org_id,
            AclEntry.resource_type == kind,
            AclEntry.resource_id == resource_id,
            AclEntry.accessor_id == accessor_id,
        )
    ).first()
    if entry is None:
        raise NotFound("The accessor has no permission on this resource")
    return entry


def _keep_an_owner(session: Session, org_id: str, kind: str, resource_id: str) -> None:
    owners = [e for e in acl.entries(session, org_id, kind, resource_id) if e.is_owner]
    if len(owners) <= 1:
        raise Invalid("The last owner cannot stop being an owner")


def _check_accessor(
    session: Session, org_id: str, accessor_type: str, id_: str, field: str
) -> None:
    table: Any = User if accessor_type == "user" else Team
    row = session.get(table, id_)
    if row is None or row.org_id != org_id:
        raise NotFound(f"No {accessor_type} {id_} in this organization", {field: "Unknown"})


def _named(session: Session, rows: list[AclEntry]) -> list[PermissionView]:
    user_ids = [r.accessor_id for r in rows if r.accessor_type == "user"]
    team_ids = [r.accessor_id for r in rows if r.accessor_type == "team"]
    names: dict[str, str] = {}
    for user in session.scalars(select(User).where(User.id.in_(user_ids))):
        names[user.id] = user.full_name
    for team_id, team_name in session.execute(
        select(Team.id, Team.name).where(Team.id.in_(team_ids))
    ):
        names[team_id] = team_name
    return [PermissionView(r, names.get(r.accessor_id, "")) for r in rows]
