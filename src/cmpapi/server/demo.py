"""Deterministic demo data: the same ids, users and app credentials on every fresh start,
so tutorials and other people's tests can refer to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Organization
from cmpapi.server.oauth import store

_NS = uuid.UUID("6f1c3a52-5d2e-4c7e-9a51-0c6d8f0e2b11")

CLIENT_ID = "cmpapi-demo-app"
CLIENT_SECRET = "cmpapi-demo-secret-do-not-use-in-production"  # noqa: S105 - published demo value
REDIRECT_URI = "http://localhost:3000/callback"
PASSWORD = "demo-password"  # noqa: S105 - published demo value
ADMIN_EMAIL = "ada.admin@demo.cmpapi.dev"

USERS = [  # (email local part, name, role)
    ("ada.admin", "Ada Admin", "admin"),
    ("mia.marketer", "Mia Marketer", "member"),
    ("dan.designer", "Dan Designer", "member"),
    ("wes.writer", "Wes Writer", "member"),
    ("lea.legal", "Lea Legal", "member"),
    ("val.viewer", "Val Viewer", "viewer"),
]
TEAMS = {
    "Marketing": ["mia.marketer", "wes.writer"],
    "Design": ["dan.designer"],
    "Legal": ["lea.legal", "ada.admin"],
}


def demo_id(name: str) -> str:
    """A stable 32-hex id for a named demo object."""
    return uuid.uuid5(_NS, name).hex


ORG_ID = demo_id("organization")


@dataclass(frozen=True)
class DemoCredentials:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI
    user_email: str = ADMIN_EMAIL
    user_password: str = PASSWORD


def seed(session: Session) -> DemoCredentials:
    """Create the demo organization once; later calls leave existing data alone."""
    if session.get(Organization, ORG_ID) is None:
        identity.create_organization(session, "Demo Organization", id_=ORG_ID)
        for local, name, role in USERS:
            identity.create_user(
                session, ORG_ID, email=f"{local}@demo.cmpapi.dev", name=name,
                password=PASSWORD, role=role, username=local, id_=demo_id(f"user:{local}"),
            )  # fmt: skip
        for team, members in TEAMS.items():
            identity.create_team(
                session, ORG_ID, team, [demo_id(f"user:{m}") for m in members],
                id_=demo_id(f"team:{team}"),
            )  # fmt: skip
        store.create_app(
            session, ORG_ID, name="Demo App", redirect_uris=[REDIRECT_URI],
            token_user_id=demo_id("user:ada.admin"), expose_email=True,
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        )  # fmt: skip
        session.commit()
    return DemoCredentials()
