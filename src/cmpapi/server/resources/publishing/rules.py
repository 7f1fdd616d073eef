"""The rules of one bulkCreatePublishingEventMetadata item, each refusal an error code of
the spec (docs/compat.md, Publishing). Checked in this order; the first that applies is
the item's error:

- ``unknown-asset``: the asset is not one the event carries;
- ``duplicate-metadata``: the batch holds the same asset and locale more than once (every
  such item is refused: which one is meant cannot be told);
- ``metadata-exists``: metadata for this asset and locale is stored for the event already;
- ``invalid-status``: the status does not answer what the event did to the asset (a
  publish: published or failed; a re-sync: synced, published or failed; a withdrawal:
  unpublished or failed);
- ``missing-locale`` / ``locale-not-allowed``: a channel with locales needs one of them;
  any locale must look like a language tag (``en``, ``en-US``);
- ``missing-public-url``: published and synced need ``public_url``;
- ``public-url-not-allowed``: a URL for an unpublished or failed asset, or one that is not
  an absolute http(s) URL without credentials of at most 2048 characters;
- ``domain-not-whitelisted``: the channel lists allowed domains and the URL's host is not
  one of them or under one;
- ``canonical-link-error``: the URL is already the public URL of another asset;
- ``missing-publishing-destination-updated-at``: synced needs the time the destination
  changed;
- ``publishing-destination-updated-at-not-allowed``: that time is in the future.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from pydantic import MISSING

from cmpapi.server.resources.publishing.channels import LOCALE
from cmpapi.server.resources.publishing.tables import (
    PUBLISHED,
    SYNCED,
    UNPUBLISHED,
    PublishingChannel,
    PublishingEventAsset,
)
from cmpapi.wire import PublishingEventMetadataCreateRequest as Item

FITTING = {
    PUBLISHED: ("published", "failed"),
    SYNCED: ("synced", "published", "failed"),
    UNPUBLISHED: ("unpublished", "failed"),
}
LIVE = ("published", "synced")  # statuses that say the asset is at its public URL
MAX_URL, MAX_LOCALE = 2048, 35
CLOCK_SKEW = timedelta(minutes=5)


class Refused(Exception):
    """An item's refusal: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class Accepted:
    """An item's values as stored."""

    asset: PublishingEventAsset
    status: str
    locale: str  # "" for none
    public_url: str | None
    updated_at: datetime | None
    status_message: str | None


@dataclass
class Batch:
    """What the rules need to know about the event and the batch."""

    channel: PublishingChannel
    assets: dict[str, PublishingEventAsset]
    stored: set[tuple[str, str]]  # (asset id, locale) with metadata in the event
    url_owners: dict[str, set[str]]  # public URL -> ids of the assets live at it
    now: datetime
    keys: Counter[tuple[str, str]] = field(default_factory=Counter)

    def check(self, item: Item) -> Accepted:
        """The item as stored, or ``Refused``."""
        asset = self.assets.get(item.asset_id)
        if asset is None:
            raise Refused("unknown-asset", "The publishing event has no asset with this id")
        key = _key(item)
        if self.keys[key] > 1:
            raise Refused("duplicate-metadata", "The batch holds this asset and locale twice")
        if key in self.stored:
            raise Refused("metadata-exists", "Metadata for this asset and locale exists already")
        status = item.status.value
        if status not in FITTING[asset.action]:
            allowed = " or ".join(FITTING[asset.action])
            raise Refused(
                "invalid-status", f"The event {asset.action} this asset: the status is {allowed}"
            )
        locale = self._locale(item)
        url = self._url(item, status, asset.asset_id)
        updated = self._updated_at(item, status)
        message = item.status_message if item.status_message is not MISSING else None
        return Accepted(asset, status, locale, url, updated, message)

    def count(self, items: list[Item]) -> None:
        """Note the (asset, locale) keys of the whole batch first (for duplicates)."""
        self.keys.update(_key(item) for item in items)

    def claim(self, accepted: Accepted) -> None:
        """Record a stored item: later items see its key and its URL."""
        self.stored.add((accepted.asset.asset_id, accepted.locale.casefold()))
        if accepted.public_url and accepted.status in LIVE:
            self.url_owners.setdefault(accepted.public_url, set()).add(accepted.asset.asset_id)

    def _locale(self, item: Item) -> str:
        given = item.locale.strip() if item.locale is not MISSING else ""
        choices = self.channel.locales
        if not given:
            if choices:
                raise Refused(
                    "missing-locale",
                    f"This channel publishes in {', '.join(choices)}: name the locale",
                )
            return ""
        if choices:
            match = next((c for c in choices if c.casefold() == given.casefold()), None)
            if match is None:
                raise Refused(
                    "locale-not-allowed", f"This channel publishes in {', '.join(choices)} only"
                )
            return match
        if len(given) > MAX_LOCALE or not LOCALE.fullmatch(given):
            raise Refused("locale-not-allowed", "Not a language tag (such as en or en-US)")
        return given

    def _url(self, item: Item, status: str, asset_id: str) -> str | None:
        url = item.public_url.strip() if item.public_url is not MISSING else ""
        if status not in LIVE:
            if url:
                raise Refused("public-url-not-allowed", f"A {status} asset has no public URL")
            return None
        if not url:
            raise Refused("missing-public-url", f"A {status} asset needs its public_url")
        host = _host(url)
        allowed = self.channel.allowed_domains
        if allowed and not any(host == d or host.endswith("." + d) for d in allowed):
            raise Refused(
                "domain-not-whitelisted", f"This channel publishes on {', '.join(allowed)} only"
            )
        others = self.url_owners.get(url, set()) - {asset_id}
        if others:
            raise Refused(
                "canonical-link-error",
                f"The URL is already the public URL of asset '{min(others)}'",
            )
        return url

    def _updated_at(self, item: Item, status: str) -> datetime | None:
        value = item.publishing_destination_updated_at
        if not isinstance(value, datetime):
            if status == "synced":
                raise Refused(
                    "missing-publishing-destination-updated-at",
                    "A synced asset needs publishing_destination_updated_at",
                )
            return None
        if value > self.now + CLOCK_SKEW:
            raise Refused(
                "publishing-destination-updated-at-not-allowed",
                "publishing_destination_updated_at is in the future",
            )
        stored: datetime = value.replace(microsecond=0)
        return stored


def _key(item: Item) -> tuple[str, str]:
    """An item's (asset id, locale) as compared: locales case-insensitively."""
    locale = item.locale.strip() if item.locale is not MISSING else ""
    return item.asset_id, locale.casefold()


def _host(url: str) -> str:
    """The URL's host, lower-cased; ``Refused`` unless it is a sane absolute http(s) URL."""
    bad = Refused(
        "public-url-not-allowed",
        f"public_url must be an absolute http(s) URL of at most {MAX_URL} characters",
    )
    if len(url.encode()) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise bad
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise bad from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise bad
    if parts.username is not None or parts.password is not None:
        raise Refused("public-url-not-allowed", "public_url must not carry credentials")
    return parts.hostname.lower()
