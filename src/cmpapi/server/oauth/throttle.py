"""Sign-in throttling: growing delays, then a bounded lockout, after wrong passwords (login
page) and wrong client secrets (token and revocation endpoints). One mechanism for both.

The policy (docs/compat.md#sign-in-throttling), per realm (``LOGIN``, ``CLIENT``):

- three failure counters: the account on one address (``pair``), the address on every
  account (``address``) and the account on every address (``account``), where one address
  counts for at most ``signin_free_failures`` toward the account: alone it never locks the
  account for others;
- past its free failures, each failure blocks a counter's key for a delay that doubles
  from ``signin_first_delay`` up to ``signin_max_delay`` (the lockout); a counter is reset
  ``signin_failure_window`` after its last failure;
- a success resets the account's counters (its ``pair`` and ``account``), not the
  address's, and marks the address as known to the account: a known address is exempt
  from the ``address`` and ``account`` blocks, only its own ``pair`` block stops it.

A throttled attempt is refused before any secret is checked and is not counted, so
hammering a lockout does not extend it. Counters live in the database, so every API process
sees the same ones; their keys are hashes (no login names or addresses stored in clear).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cmpapi.server.identity.service import find_user_by_login
from cmpapi.server.oauth.tables import SignInThrottle
from cmpapi.server.settings import Settings

LOGIN = "login"  # the authorization page; the account is the user (or the unknown name)
CLIENT = "client"  # token and revocation endpoints; the account is the client_id

PAIR, ADDRESS, ACCOUNT, KNOWN = "pair", "address", "account", "known"
_SWEEP_BATCH = 500
T = SignInThrottle


def client_address(host: str | None) -> str:
    """The address counters are kept for: an IPv4 address, or an IPv6 /64 network (one
    subscriber usually holds a whole /64, so single IPv6 addresses cost nothing to vary)."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def login_account(session: Session, login: str) -> str:
    """The account a login-page attempt is counted on: the user whether they typed their
    email or username, or the typed name when no user has it."""
    user = find_user_by_login(session, login)
    return f"user:{user.id}" if user is not None else f"name:{login.strip().lower()}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt: its realm, the account it targets and the client's address."""

    realm: str
    account: str
    address: str

    def key(self, kind: str) -> str:
        """The row key of this attempt's counter (or known-address mark) ``kind``."""
        subject = {
            PAIR: f"{self.account}\n{self.address}",
            KNOWN: f"{self.account}\n{self.address}",
            ADDRESS: self.address,
            ACCOUNT: self.account,
        }[kind]
        return hashlib.sha256(f"{self.realm}\n{kind}\n{subject}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Gate:
    """What ``check`` found for an attempt."""

    retry_after: int | None = None  # whole seconds until it may be made; None: now
    known_until: datetime | None = None  # the address is known to the account until then
    counters: frozenset[str] = frozenset()  # live counters a success resets


def check(
    session: Session, settings: Settings, attempt: Attempt, *, now: datetime | None = None
) -> Gate:
    """Whether ``attempt`` may be made now; read-only."""
    if not settings.signin_throttle:
        return Gate()
    now = now or _now()
    kinds = {attempt.key(kind): kind for kind in (PAIR, ADDRESS, ACCOUNT, KNOWN)}
    stmt = select(T.key, T.blocked_until, T.expires_at).where(T.key.in_(kinds))
    rows = {kinds[r.key]: r for r in session.execute(stmt) if r.expires_at > now}
    known = rows.get(KNOWN)
    binding = (PAIR,) if known is not None else (PAIR, ADDRESS, ACCOUNT)
    until = max(
        (r.blocked_until for kind in binding if (r := rows.get(kind)) and r.blocked_until),
        default=None,
    )
    return Gate(
        retry_after=_seconds(until - now) if until is not None and until > now else None,
        known_until=known.expires_at if known is not None else None,
        counters=frozenset(kind for kind in (PAIR, ACCOUNT) if kind in rows),
    )


def failed(
    session: Session,
    settings: Settings,
    attempt: Attempt,
    gate: Gate,
    *,
    now: datetime | None = None,
) -> int | None:
    """Count a failed attempt (committed); seconds until the next one may be made, when
    this failure started a delay."""
    if not settings.signin_throttle:
        return None
    now = now or _now()
    expires = now + timedelta(seconds=settings.signin_failure_window)
    # Always in this order (pair, address, account): concurrent failures lock rows alike.
    counts = {PAIR: _count(session, attempt.key(PAIR), now, expires)}
    counts[ADDRESS] = _count(session, attempt.key(ADDRESS), now, expires)
    if counts[PAIR] <= settings.signin_free_failures:
        counts[ACCOUNT] = _count(session, attempt.key(ACCOUNT), now, expires)
    free = {
        PAIR: settings.signin_free_failures,
        ADDRESS: settings.signin_address_free_failures,
        ACCOUNT: settings.signin_account_free_failures,
    }
    delays: dict[str, timedelta] = {}
    for kind, failures in counts.items():
        if failures > free[kind]:
            delays[kind] = _delay(settings, failures - free[kind])
            stmt = update(T).where(T.key == attempt.key(kind))
            session.execute(stmt.values(blocked_until=now + delays[kind]))
    _sweep(session, now)
    session.commit()
    binding = (PAIR,) if gate.known_until is not None else (PAIR, ADDRESS, ACCOUNT)
    delay = max((delays[kind] for kind in binding if kind in delays), default=None)
    return _seconds(delay) if delay is not None else None


def succeeded(
    session: Session,
    settings: Settings,
    attempt: Attempt,
    gate: Gate,
    *,
    now: datetime | None = None,
) -> None:
    """Reset the account's counters and mark the address as known to the account
    (committed; nothing is written when there is nothing to change)."""
    if not settings.signin_throttle:
        return
    now = now or _now()
    keys = [attempt.key(kind) for kind in (PAIR, ACCOUNT) if kind in gate.counters]
    for key in keys:  # one by one, in the order failures lock them
        session.execute(delete(T).where(T.key == key))
    ttl = timedelta(seconds=settings.signin_known_address_ttl)
    # The mark is renewed once half its lifetime has passed: not one write per success.
    renew = bool(ttl) and (gate.known_until is None or gate.known_until - now < ttl / 2)
    if renew:
        _mark_known(session, attempt.key(KNOWN), now + ttl)
    if keys or renew:
        _sweep(session, now)
        session.commit()


def wait_text(seconds: int) -> str:
    """``seconds`` for people: "30 seconds", "1 minute", "15 minutes"."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _delay(settings: Settings, beyond_free: int) -> timedelta:
    seconds = settings.signin_first_delay * 2.0 ** min(beyond_free - 1, 60)
    return timedelta(seconds=min(seconds, settings.signin_max_delay))


def _count(session: Session, key: str, now: datetime, expires: datetime) -> int:
    """Add one failure to ``key``'s counter (a lapsed counter starts again); the new count.

    One statement, atomic on both backends: concurrent failures all count."""
    live = T.expires_at > now
    changes = {
        "failures": case((live, T.failures + 1), else_=1),
        "blocked_until": case((live, T.blocked_until), else_=None),
        "expires_at": expires,
    }
    stmt = _insert(session).values(key=key, failures=1, expires_at=expires)
    upsert = stmt.on_conflict_do_update(index_elements=[T.key], set_=changes)
    return int(session.execute(upsert.returning(T.failures)).scalar_one())


def _mark_known(session: Session, key: str, expires: datetime) -> None:
    stmt = _insert(session).values(key=key, failures=0, expires_at=expires)
    session.execute(
        stmt.on_conflict_do_update(index_elements=[T.key], set_={"expires_at": expires})
    )


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(T) if dialect == "postgresql" else sqlite.insert(T)


def _sweep(session: Session, now: datetime) -> None:
    """Delete lapsed rows, a batch at a time, skipping rows another request holds."""
    lapsed = select(T.key).where(T.expires_at <= now).limit(_SWEEP_BATCH)
    session.execute(delete(T).where(T.key.in_(lapsed.with_for_update(skip_locked=True))))
