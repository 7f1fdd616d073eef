"""The access log of ``cmpapi serve --access-log``, with secrets in query strings redacted.

uvicorn logs each request line with its query string, and query strings can carry secrets:
``?access_token=`` (some clients send the bearer token that way), an authorization
``code``, the ``signature`` of a signed upload or download URL. A filter on the
``uvicorn.access`` logger replaces the values of sensitive parameters with ``REDACTED``
before any handler sees the record; the parameter names stay, for debugging.

To run cmpapi under another uvicorn or a process manager, pass ``log_config()`` (or install
``RedactQueryFilter`` on the ``uvicorn.access`` logger) the same way.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "REDACTED"

# Whole names, compared case-insensitively after percent-decoding.
SENSITIVE_NAMES = frozenset(
    {
        "code",  # OAuth authorization code
        "key",
        "apikey",
        "api_key",
        "sig",
        "assertion",
        "client_assertion",
        "session",
        "sessionid",
        "jwt",
        "auth",
        "authorization",
    }
)
# Names containing one of these: access_token, refresh_token, id_token_hint, client_secret,
# password, X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, code_verifier, ...
SENSITIVE_PARTS = ("token", "secret", "password", "passwd", "signature", "credential", "verifier")

# name=value, where a pair ends at & or ; (a value may contain "=", e.g. base64 padding).
_PAIR = re.compile(r"([^&;=]*)=([^&;]*)")


def is_sensitive(name: str) -> bool:
    """Whether a query parameter of this (raw) name carries a secret."""
    name = unquote_plus(name).strip().lower()
    return name in SENSITIVE_NAMES or any(part in name for part in SENSITIVE_PARTS)


def redact_query(target: str) -> str:
    """``target`` (a path with its query string) with sensitive values replaced."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    return f"{path}?{_PAIR.sub(_redact_pair, query)}"


def _redact_pair(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    return f"{name}={REDACTED}" if value and is_sensitive(name) else match.group(0)


class RedactQueryFilter(logging.Filter):
    """Redacts the request target of uvicorn access-log records (and any string argument
    with a query string: the record's shape is uvicorn's, not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration plus the redacting filter."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQueryFilter}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_query"]
    return config
