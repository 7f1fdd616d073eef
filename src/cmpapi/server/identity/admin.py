"""Administering an installation on this machine (``cmpapi init``, ``cmpapi users``,
``cmpapi teams``): the first organization and its admin, finding, listing, deactivating and
deleting users and teams, with the rules that keep the data consistent:

- an organization keeps at least one active admin;
- a deactivated user cannot sign in, and every token issued to them is revoked;
- only a deactivated user, or a team, that no other row refers to is deleted (what it made
  or was given keeps its author, assignee or grantee: deactivate instead).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cmpapi.server.errors import Conflict, Invalid, NotFound
from cmpapi.server.identity import service
from cmpapi.server.identity.tables import Organization, Team, TeamMember, User

MIN_PASSWORD = 8
MAX_ORG_NAME = 200
# A user's own sign-in state and memberships: deleted with the user, never a reason to keep it.
USER_OWN_ROWS = frozenset(
    {
        "users.id",
        "oauth_tokens.user_id",
        "oauth_grants.user_id",
        "oauth_codes.user_id",
        "oauth_login_sessions.user_id",
        "team_members.user_id",
    }
)
TEAM_OWN_ROWS = frozenset({"teams.id", "team_members.team_id"})


def initialize(
    session: Session, *, org_name: str, admin_email: str, admin_name: str, password: str
) -> tuple[Organization, User]:
    """Create the installation's first organization and its admin (flushed; the caller
    commits). Refused (Conflict) once any organization exists."""
    refuse_if_initialized(session)
    errors = {}
    if not org_name.strip() or len(org_name.strip()) > MAX_ORG_NAME:
        errors["org_name"] = f"1 to {MAX_ORG_NAME} characters"
    if not admin_name.strip():
        errors["admin_name"] = "Required"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"At least {MIN_PASSWORD} characters"
    if errors:
        raise Invalid("Invalid organization or admin", errors)
    org = service.create_organization(session, org_name.strip())
    user = service.create_user(
        session, org.id, email=admin_email, name=admin_name, password=password, role="admin"
    )
    return org, user


def refuse_if_initialized(session: Session) -> None:
    """Conflict when an organization exists: the installation is set up already."""
    existing = session.scalars(select(Organization).order_by(Organization.created_at)).first()
    if existing is not None:
        raise Conflict(
            f"Already initialized: organization {existing.name!r} ({existing.id}) exists; "
            "add users with `cmpapi users create`, apps with `cmpapi apps create`"
        )


def find_user(session: Session, ref: str) -> User:
    """The user whose id, email or username is ``ref``; NotFound otherwise."""
    user = session.get(User, ref) or service.find_user_by_login(session, ref)
    if user is None:
        raise NotFound(f"No user {ref}")
    return user


def list_users(session: Session, org_id: str) -> Sequence[User]:
    """The organization's users, oldest first, deactivated ones included."""
    stmt = select(User).where(User.org_id == org_id).order_by(User.created_at, User.id)
    return session.scalars(stmt).all()


def team_ids(session: Session, user_id: str) -> list[str]:
    """The teams the user is a member of."""
    stmt = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    return sorted(session.scalars(stmt))


def _refuse_last_admin(session: Session, user: User, doing: str) -> None:
    if user.role != "admin" or not user.is_active:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.org_id == user.org_id, User.role == "admin", User.is_active.is_(True))
        .where(User.id != user.id)
    )
    if not others:
        raise Conflict(
            f"Cannot {doing} the organization's only active admin: make another user admin "
            "first (`cmpapi users set-role USER admin`)"
        )


def deactivate_user(session: Session, user: User) -> int:
    """Deactivate a user: no sign-in, no API access (their tokens are revoked; apps acting
    as them get no client_credentials tokens). Returns the tokens revoked (0 when the user
    was already deactivated)."""
    from cmpapi.server.oauth.app_admin import revoke_tokens

    if not user.is_active:
        return 0
    _refuse_last_admin(session, user, "deactivate")
    user.is_active = False
    revoked = revoke_tokens(session, user_id=user.id)
    session.flush()
    return revoked


def set_role(session: Session, user: User, role: str) -> None:
    """Give a user another role (API processes notice within ``token_cache_seconds``)."""
    from cmpapi.server.authz import ROLES

    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}", {"role": f"One of {', '.join(ROLES)}"})
    if role != "admin":
        _refuse_last_admin(session, user, "demote")
    user.role = role
    session.flush()


def activate_user(session: Session, user: User) -> None:
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    user.is_active = True
    session.flush()


def delete_user(session: Session, user: User) -> None:
    """Delete a deactivated user that nothing refers to, with their sign-in state and team
    memberships. Refused (Conflict) for an active user and one other rows refer to."""
    from cmpapi.server.db.references import describe, references
    from cmpapi.server.oauth.tables import AuthorizationCode, LoginSession, OAuthGrant, OAuthToken

    if user.is_active:
        raise Conflict("The user is active: deactivate them first (`cmpapi users deactivate`)")
    found = references(session, user.id, ignore=USER_OWN_ROWS)
    if found:
        raise Conflict(f"The user is referenced by {describe(found)}: keep them deactivated")
    session.execute(delete(OAuthToken).where(OAuthToken.user_id == user.id))
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.user_id == user.id))
    session.execute(delete(OAuthGrant).where(OAuthGrant.user_id == user.id))
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.execute(delete(TeamMember).where(TeamMember.user_id == user.id))
    session.expire_all()  # team member lists loaded before hold the deleted rows
    session.delete(session.get(User, user.id))
    session.flush()


def find_team(session: Session, team_id: str) -> Team:
    """The team with this id; NotFound otherwise."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"No team {team_id}")
    return team


def list_teams(session: Session, org_id: str) -> Sequence[Team]:
    """The organization's teams by name."""
    stmt = select(Team).where(Team.org_id == org_id).order_by(Team.name, Team.id)
    return session.scalars(stmt).all()


def delete_team(session: Session, team: Team) -> int:
    """Delete a team nothing refers to (no permission, assignment or request names it),
    with its memberships; returns how many members it had. Refused (Conflict) otherwise."""
    from cmpapi.server.db.references import describe, references

    found = references(session, team.id, ignore=TEAM_OWN_ROWS)
    if found:
        raise Conflict(f"The team is referenced by {describe(found)}")
    members = len(team.members)
    session.delete(team)
    session.flush()
    return members
