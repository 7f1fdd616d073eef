"""Publishing tables: webhook publishing channels, publishing events with the assets they
carry, and the publishing metadata integrators post back (docs/compat.md, Publishing)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

WEBHOOK = "webhook"  # the one channel type cmpapi serves
# What a publishing event did to an asset; also the webhook event it records
# (``asset_<action>``) and the metadata status that confirms it.
PUBLISHED, SYNCED, UNPUBLISHED = "published", "synced", "unpublished"
ACTIONS = (PUBLISHED, SYNCED, UNPUBLISHED)


def precise_now() -> datetime:
    """Now with microseconds: "the latest event of an asset on a channel" and the order of
    metadata rows follow it; the wire shows whole seconds anyway."""
    return datetime.now(UTC)


class PublishingChannel(OrgScoped, Base):
    """A publishing channel of the organization. ``locales``: the locales its metadata may
    name (empty: any, and none needed); ``allowed_domains``: the hosts public URLs may
    point at (empty: any)."""

    __tablename__ = "publishing_channels"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_publishing_channels_org_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default=WEBHOOK)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    locales: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    allowed_domains: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublishingEvent(OrgScoped, Base):
    """One push of assets to a channel (publish, re-sync or withdrawal)."""

    __tablename__ = "publishing_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("publishing_channels.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)


class PublishingEventAsset(OrgScoped, Base):
    """An asset a publishing event carries and what the event did to it (``action``).
    ``channel_id`` repeats the event's so an asset's state on a channel is one index
    lookup: its newest row there."""

    __tablename__ = "publishing_event_assets"
    __table_args__ = (
        Index("ix_publishing_event_assets_channel_asset", "channel_id", "asset_id", "created_at"),
    )

    event_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("publishing_events.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_type: Mapped[str] = mapped_column(String(20))
    task_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=precise_now)


class PublishingMetadata(OrgScoped, Base):
    """Publishing metadata an integrator posted for an asset of an event, one per asset
    and locale (``locale`` ``""``: none given; the wire shows ``null``)."""

    __tablename__ = "publishing_metadata"
    __table_args__ = (
        UniqueConstraint("event_id", "asset_id", "locale", name="uq_publishing_metadata_item"),
        Index("ix_publishing_metadata_org_url", "org_id", "public_url"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("publishing_events.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[str] = mapped_column(String(32))
    asset_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(35), default="")
    public_url: Mapped[str | None] = mapped_column(String(2048))
    publishing_destination_updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)
