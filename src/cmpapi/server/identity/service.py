"""Organizations, users and teams: the rules for creating and finding them.

Used by the CLI, demo seeding, the login page and the Users/Teams resources.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import ROLES
from cmpapi.server.errors import Conflict, Invalid, NotFound
from cmpapi.server.identity.passwords import hash_password, verify_password
from cmpapi.server.identity.tables import Organization, Team, TeamMember, User

MAX_EMAIL = 254  # the column's width (RFC 5321's longest path)
MAX_NAME_PART = 150  # first and last name columns


def create_organization(session: Session, name: str, id_: str | None = None) -> Organization:
    """Create an organization (flushed; the caller commits)."""
    org = Organization(name=name) if id_ is None else Organization(id=id_, name=name)
    session.add(org)
    session.flush()
    return org


def split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def create_user(
    session: Session,
    org_id: str,
    *,
    email: str,
    name: str,
    password: str | None = None,
    role: str = "member",
    username: str | None = None,
    id_: str | None = None,
) -> User:
    """Create a user; emails are unique (case-insensitive) across the deployment."""
    email = email.strip().lower()
    if "@" not in email or len(email) > MAX_EMAIL:
        raise Invalid(
            "Invalid email", {"email": f"An email address of {MAX_EMAIL} characters at most"}
        )
    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}", {"role": f"One of {', '.join(ROLES)}"})
    if find_user_by_login(session, email) or (username and find_user_by_login(session, username)):
        raise Conflict("A user with this email or username already exists")
    first, last = split_name(name)
    if not first or max(len(first), len(last)) > MAX_NAME_PART:
        raise Invalid("Invalid name", {"name": f"A name of {MAX_NAME_PART} characters at most"})
    user = User(
        org_id=org_id,
        email=email,
        username=username,
        first_name=first,
        last_name=last,
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    if id_ is not None:
        user.id = id_
    session.add(user)
    session.flush()
    return user


def find_user_by_login(session: Session, login: str) -> User | None:
    """The user whose email or username is ``login`` (case-insensitive), if any."""
    login = login.strip().lower()
    stmt = select(User).where(or_(User.email == login, func.lower(User.username) == login))
    return session.scalars(stmt.limit(1)).first()


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The active user with these credentials, or None (constant work either way)."""
    user = find_user_by_login(session, login)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.is_active else None


def create_team(
    session: Session, org_id: str, name: str, member_ids: Iterable[str] = (), id_: str | None = None
) -> Team:
    """Create a team with members from the same organization."""
    team = Team(org_id=org_id, name=name) if id_ is None else Team(id=id_, org_id=org_id, name=name)
    session.add(team)
    session.flush()
    for user_id in dict.fromkeys(member_ids):
        add_team_member(session, team, user_id)
    return team


def add_team_member(session: Session, team: Team, user_id: str) -> None:
    """Add a user of the team's organization to the team."""
    user = session.get(User, user_id)
    if user is None or user.org_id != team.org_id:
        raise NotFound(f"No user {user_id} in this organization")
    if all(m.user_id != user_id for m in team.members):
        team.members.append(TeamMember(team_id=team.id, user_id=user_id))
        session.flush()
