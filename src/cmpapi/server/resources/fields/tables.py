"""Field definitions of an organization, their choices, and the values objects hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow


class Field(OrgScoped, Base):
    """A field definition (``createField``). The type-specific options are nullable columns;
    ``kinds.KINDS`` says which ones a type uses."""

    __tablename__ = "fields"
    # Names are unique per organization; the index also serves listFields' order by name.
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    helper_text: Mapped[str] = mapped_column(String(120), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_multi_select: Mapped[bool | None] = mapped_column(Boolean)
    decimal_places: Mapped[int | None] = mapped_column(Integer)
    has_thousand_separator: Mapped[bool | None] = mapped_column(Boolean)
    currency_code: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    choices: Mapped[list[FieldChoice]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FieldChoice.position"
    )


class FieldChoice(OrgScoped, Base):
    """One choice of a checkbox, radio button, dropdown or label field, in display order."""

    __tablename__ = "field_choices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    field_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("fields.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    color: Mapped[str | None] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer, default=0)


class FieldValue(OrgScoped, Base):
    """The values one object (an asset, a task, ...) holds for one field.

    ``value`` is the normalised JSON list made by ``values.normalise_values``: choice ids,
    strings, decimal strings, UTC timestamps or ``{"key", "title"}`` file objects.
    ``position`` keeps the order in which the object's fields were given.
    """

    __tablename__ = "field_values"

    owner_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    field_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("fields.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[list[Any]] = mapped_column(PortableJSON())
    position: Mapped[int] = mapped_column(Integer, default=0)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    field: Mapped[Field] = relationship(lazy="joined")
