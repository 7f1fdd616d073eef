"""A small organization with users of every role, a team, an app and tokens.

Built through the same services the CLI and demo seeding use. ``stamped_world`` builds it
once per backend and test worker, and copies its rows into each later test's empty
database: the services' flushes and lookups took ~16 % of the CPU time of the resource
tests; the copy is one insert per table (tests/server/test_world_stamp.py checks that the
copy holds the same rows as a build).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, exists, inspect, literal, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.tables import Base
from cmpapi.server.http import principals
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Organization, Team, User
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp

PASSWORD = "correct horse battery staple"
REDIRECT_URI = "https://app.example.com/callback"


@dataclass
class World:
    org: Organization
    users: dict[str, User]
    team: Team
    app: OAuthApp
    client_secret: str
    tokens: dict[str, str] = field(default_factory=dict)

    def principal(self, who: str = "admin") -> Principal:
        """The principal of one of the users, for calling services directly."""
        user = self.users[who]
        return Principal(org_id=self.org.id, user_id=user.id, role=user.role, app_id=self.app.id)

    def auth(self, who: str = "admin") -> dict[str, str]:
        """Authorization header for one of the users."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_world(session: Session, *, org_name: str = "Acme", prefix: str = "") -> World:
    org = identity.create_organization(session, org_name)
    users = {
        role: identity.create_user(
            session,
            org.id,
            email=f"{prefix}{role}@example.com",
            name=f"{role.title()} {org_name}",
            password=PASSWORD,
            role=role,
        )
        for role in ("admin", "member", "viewer")
    }
    team = identity.create_team(
        session, org.id, f"{org_name} Team", [users["admin"].id, users["member"].id]
    )
    app, secret = store.create_app(
        session,
        org.id,
        name=f"{org_name} App",
        redirect_uris=[REDIRECT_URI],
        token_user_id=users["admin"].id,
    )
    world = World(org, users, team, app, secret)
    for role, user in users.items():
        world.tokens[role] = store.issue_token(
            session, app, user.id, kind="access", ttl_seconds=3600
        ).raw
    session.commit()
    return world


def stranger(session: Session, org_name: str = "Stranger") -> dict[str, str]:
    """The authorization header of an admin of another organization: cheaper than a second
    ``build_world`` (no password hashing), for "other organizations see 404" checks."""
    org = identity.create_organization(session, org_name)
    admin = identity.create_user(
        session, org.id, email=f"admin@{org.id}.example.com", name="Stranger", role="admin"
    )
    app, _ = store.create_app(session, org.id, name=f"{org_name} App", redirect_uris=[REDIRECT_URI])
    token = store.issue_token(session, app, admin.id, kind="access", ttl_seconds=3600).raw
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Stamp:
    """The rows of a world built in an empty database, and its objects as loaded then
    (detached)."""

    rows: list[tuple[Table, list[dict[str, Any]]]]
    org: Organization
    users: dict[str, User]
    team: Team
    app: OAuthApp
    client_secret: str
    tokens: dict[str, str]
    made: float  # time.monotonic()


# Per backend (dialect name), in this process. A stamp is rebuilt after half its tokens'
# hour: a copied token expires when the one built did.
STAMPS: dict[str, Stamp] = {}
STAMP_LIFETIME = 1800.0


def _empty(session: Session) -> bool:
    """Whether every table is empty (one statement)."""
    rows = [exists(select(literal(1)).select_from(t)) for t in Base.metadata.sorted_tables]
    return not session.execute(select(or_(*rows))).scalar_one()


def _stamp(session: Session, world: World) -> Stamp:
    rows = []
    for table in Base.metadata.sorted_tables:
        found = [dict(row._mapping) for row in session.execute(select(table))]
        if found:
            rows.append((table, found))
    with Session(session.get_bind()) as reader:
        org = reader.get_one(Organization, world.org.id)
        users = {role: reader.get_one(User, user.id) for role, user in world.users.items()}
        team = reader.get_one(Team, world.team.id)
        app = reader.get_one(OAuthApp, world.app.id)
        reader.expunge_all()
    return Stamp(
        rows, org, users, team, app, world.client_secret, dict(world.tokens), time.monotonic()
    )


def _expire_all_but_keys(session: Session, objects: list[Any]) -> None:
    """As a build's commit does, but for the keys: a test that changed a row (through the
    API) before reading its object reads what it is now."""
    for obj in objects:
        mapper = inspect(obj).mapper
        keys = {column.key for column in mapper.primary_key}
        session.expire(obj, [a.key for a in mapper.attrs if a.key not in keys])


def stamped_world(session: Session) -> World:
    """``build_world(session)``'s world in an empty database: built the first time, copied
    from that build's rows afterwards."""
    backend = session.get_bind().dialect.name
    stamp = STAMPS.get(backend)
    if stamp is None or time.monotonic() - stamp.made > STAMP_LIFETIME:
        empty = _empty(session)
        world = build_world(session)
        if empty:  # anything else in the database would be copied along
            STAMPS[backend] = _stamp(session, world)
        return world
    for table, rows in stamp.rows:
        session.execute(table.insert(), rows)
    session.commit()
    # Every test's world has the same tokens: a principal cached for an earlier test
    # (whose user's role or state it changed) must not answer for this one.
    principals.forget_all()
    # The stamp's objects, without reading them (their rows were just copied). Merging one
    # may merge others it holds (a team its members): expire once all are in.
    world = World(
        org=session.merge(stamp.org, load=False),
        users={role: session.merge(user, load=False) for role, user in stamp.users.items()},
        team=session.merge(stamp.team, load=False),
        app=session.merge(stamp.app, load=False),
        client_secret=stamp.client_secret,
        tokens=dict(stamp.tokens),
    )
    _expire_all_but_keys(session, [world.org, *world.users.values(), world.team, world.app])
    return world
