"""Bearer token -> ``Principal``, with a short-lived per-process cache.

Looking a token up (a pooled connection, one indexed query over tokens, users and apps)
was the largest single cost of a small /v3 request: ~90 of 446 µs (bench/README.md). An
integration sends the same token for minutes, so each process keeps what a token resolved
to for ``token_cache_seconds`` (2 s by default):

- a token revoked through this process (``/o/oauth2/v1/revoke``, a refresh token's reuse
  revoking its grant) is refused by this process at once: revocation empties the cache;
- a change made elsewhere (another API process's revocation, ``cmpapi users`` deactivating
  a user or changing a role, an app turned off) reaches every process within the TTL;
- a token never outlives its ``expires_at``: the expiry is checked on every hit.

``token_cache_seconds = 0`` turns the cache off (every request reads the token).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from threading import Lock

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.secrets import hash_secret
from cmpapi.server.oauth.tables import OAuthApp, OAuthToken

# Built once: the hot path of every request.
_TOKEN_QUERY = (
    select(
        OAuthToken.org_id,
        OAuthToken.user_id,
        OAuthToken.app_id,
        OAuthToken.scope,
        OAuthToken.expires_at,
        User.role,
        OAuthApp.expose_email,
    )
    .join(User, User.id == OAuthToken.user_id)
    .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
    .where(
        OAuthToken.token_hash == bindparam("token_hash"),
        OAuthToken.kind == "access",
        OAuthToken.revoked_at.is_(None),
        User.is_active.is_(True),
        OAuthApp.is_active.is_(True),
    )
)

# Tokens remembered per process; beyond it the oldest entries are dropped (an attacker
# sending random tokens never gets an entry: only live tokens are kept).
MAX_ENTRIES = 10_000


class PrincipalCache:
    """Live tokens' principals for ``ttl`` seconds (thread-safe: PostgreSQL requests
    resolve their tokens in worker threads)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, datetime, float]] = {}
        self._generation = 0  # bumped by forget_all: a lookup begun before is not kept
        self._lock = Lock()

    def principal(self, session: Session, raw_token: str) -> Principal | None:
        """The principal of a live access token: known, unrevoked, unexpired, active user
        and app. Read from the cache when it was read less than ``ttl`` ago."""
        token_hash = hash_secret(raw_token)
        now = datetime.now(UTC)
        hit = self._entries.get(token_hash)
        if hit is not None:
            principal, expires_at, fresh_until = hit
            if time.monotonic() < fresh_until:
                return principal if expires_at > now else None
        generation = self._generation
        row = session.connection().execute(_TOKEN_QUERY, {"token_hash": token_hash})
        found = row.one_or_none()
        if found is None or found.expires_at <= now:
            return None
        principal = Principal(
            org_id=found.org_id,
            user_id=found.user_id,
            role=found.role,
            app_id=found.app_id,
            scope=found.scope,
            expose_email=found.expose_email,
        )
        if self.ttl > 0:
            with self._lock:
                if generation == self._generation:
                    if len(self._entries) >= MAX_ENTRIES:
                        del self._entries[next(iter(self._entries))]
                    fresh_until = time.monotonic() + self.ttl
                    self._entries[token_hash] = (principal, found.expires_at, fresh_until)
        return principal

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


# One per process: revocation (oauth/) reaches it without an app at hand. Several apps in
# one process (the test suite) share it; tokens are random, so their entries never meet.
CACHE = PrincipalCache(ttl=2.0)


def lookup_principal(session: Session, raw_token: str) -> Principal | None:
    """The principal of a live access token (``PrincipalCache.principal``)."""
    return CACHE.principal(session, raw_token)


def forget_all() -> None:
    """Tokens were revoked: every process-cached principal is read again."""
    CACHE.forget_all()
