"""Users: listing, reading and finding by email, within the caller's organization."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import NotFound
from cmpapi.server.identity.tables import User


def _repo(session: Session, principal: Principal) -> Repository[User]:
    require(principal, "users:read")
    return Repository(User, session, principal.org_id)


LIST_COLUMNS = (User.id, User.first_name, User.last_name, User.image_url, User.role)
ACTIVE = User.is_active.is_(True)
OLDEST_FIRST = (User.created_at,)


def list_users(
    session: Session, principal: Principal, offset: int, page_size: int
) -> Page[Row[Any]]:
    """Active users of the organization, oldest first (rows of ``LIST_COLUMNS``)."""
    return _repo(session, principal).rows(
        LIST_COLUMNS, ACTIVE, order_by=OLDEST_FIRST, offset=offset, page_size=page_size
    )


def get_user(session: Session, principal: Principal, user_id: str) -> User:
    """One user of the organization (deactivated users included: ids stay resolvable)."""
    return _repo(session, principal).get(user_id)


def find_user_by_email(session: Session, principal: Principal, email: str) -> User:
    """The organization's user with this email (case-insensitive), or NotFound."""
    user = _repo(session, principal).find(User.email == email.strip().lower())
    if user is None:
        raise NotFound()
    return user
