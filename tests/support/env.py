"""The environment of the `cmpapi` processes tests start."""

from __future__ import annotations

import os

# tests/conftest.py's password hash cost (argon2's smallest): a child that seeds users
# (`serve --demo`) or checks passwords would otherwise hash at the production cost.
LOW_HASH_COST = {"CMPAPI_PASSWORD_HASH_MEMORY_KIB": "8", "CMPAPI_PASSWORD_HASH_TIME_COST": "1"}


def child_env(**settings: str) -> dict[str, str]:
    """This process's environment without its CMPAPI_* settings (a child gets only the ones
    its test names), with the low hash cost and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMPAPI_")}
    return env | LOW_HASH_COST | settings
