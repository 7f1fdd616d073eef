"""Per-organization sequences: the numbers behind ``reference_id`` (tasks, campaigns,
calendar events)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cmpapi.server.db.base import Base


class Counter(Base):
    """One sequence of an organization, by name (``"task"``, ``"campaign"``, ...)."""

    __tablename__ = "org_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(session: Session, org_id: str, name: str) -> int:
    """The next value of a per-organization sequence; the row lock serializes creators."""
    bump = (
        update(Counter)
        .where(Counter.org_id == org_id, Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        session.execute(insert(Counter).values(org_id=org_id, name=name, value=1))
        value = 1
    return int(value)


def made(session: Session, org_id: str, name: str) -> int:
    """How many numbers the sequence has handed out: an upper bound of the rows it numbers
    (deleted ones included), for a cost estimate without a count."""
    stmt = select(Counter.value).where(Counter.org_id == org_id, Counter.name == name)
    return int(session.scalar(stmt) or 0)
