"""A small organization with users of every role, a team, an app and tokens.

Built through the same services the CLI and demo seeding use: no fixtures poke rows in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
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
