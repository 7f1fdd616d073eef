"""Password hashing with argon2id. The cost is the app's setting (``configure``, called by
``create_app``); a hash records its own parameters, so hashes made at another cost still
verify."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): ~30 ms a hash here instead of the
# library default's ~170 ms, which let a burst of logins monopolise a 2-core server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user is unknown, so timing does not reveal which emails exist.
# Made on first use: a hash at import cost ~40 ms of every server start and CLI command.
_dummy: str | None = None


def configure(*, memory_kib: int, time_cost: int) -> None:
    """Hash new passwords at this cost (and the dummy the unknown-user path verifies)."""
    global _hasher, _dummy
    if (_hasher.memory_cost, _hasher.time_cost) != (memory_kib, time_cost):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        _dummy = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None:  # two threads may both make one: either is as good
        _dummy = _hasher.hash("not-a-real-password")
    return _dummy


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
