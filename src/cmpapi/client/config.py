"""Where a client sends its requests, and how patiently.

The defaults are the real CMP's URLs. ``Endpoints.for_server(url)`` derives all of them
from the root of a cmpapi server (``http://127.0.0.1:8080``), which serves the API at
``/v3`` and OAuth at ``/o/oauth2/v1`` as the CMP does on its two hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CMP_API_URL = "https://api.cmp.optimizely.com/v3"
CMP_ACCOUNTS_URL = "https://accounts.cmp.optimizely.com/o/oauth2/v1"


@dataclass(frozen=True)
class Endpoints:
    """The API base URL and the OAuth endpoints."""

    base_url: str = CMP_API_URL
    authorization_url: str = f"{CMP_ACCOUNTS_URL}/auth"
    token_url: str = f"{CMP_ACCOUNTS_URL}/token"
    userinfo_url: str = f"{CMP_ACCOUNTS_URL}/userinfo"
    revocation_url: str = f"{CMP_ACCOUNTS_URL}/revoke"

    @classmethod
    def for_server(cls, root: str) -> Endpoints:
        """Every URL of a cmpapi server whose root (scheme, host, port) is ``root``."""
        root = root.rstrip("/")
        oauth = f"{root}/o/oauth2/v1"
        return cls(
            base_url=f"{root}/v3",
            authorization_url=f"{oauth}/auth",
            token_url=f"{oauth}/token",
            userinfo_url=f"{oauth}/userinfo",
            revocation_url=f"{oauth}/revoke",
        )

    def with_overrides(self, **urls: str | None) -> Endpoints:
        """These endpoints with the URLs given (not None) replaced."""
        return replace(self, **{k: v.rstrip("/") for k, v in urls.items() if v})


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of 429, 5xx and connection failures: exponential backoff with full jitter,
    ``Retry-After`` honoured up to ``max_delay``. 5xx and broken connections are retried
    only for idempotent methods; 429 and connections never made are retried for all (the
    server did not act on them)."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
