"""Organizations, users, teams and team memberships."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class Organization(Base):
    """A tenant. Apps, users, settings and rate limits belong to one organization."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(OrgScoped, Base):
    """A CMP user. ``role`` is ``admin`` or ``member``; see ``cmpapi.server.authz``.

    ``username`` is optional: the login page takes the username or the email."""

    __tablename__ = "users"
    # listUsers pages in this order; without the index SQLite sorts the whole org each page.
    __table_args__ = (Index("ix_users_org_created", "org_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Stored lower-cased; unique across organizations because the login page is shared.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str | None] = mapped_column(String(150), unique=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    image_url: Mapped[str | None] = mapped_column(String(2048))
    role: Mapped[str] = mapped_column(String(20), default="member")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Team(OrgScoped, Base):
    """A named group of users; permissions can be granted to teams."""

    __tablename__ = "teams"
    __table_args__ = (Index("ix_teams_org_name", "org_id", "name", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TeamMember.user_id"
    )


class TeamMember(Base):
    """Membership of a user in a team."""

    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    user: Mapped[User] = relationship(lazy="joined")
