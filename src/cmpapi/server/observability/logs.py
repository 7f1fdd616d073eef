"""Log formats (``CMPAPI_LOG_FORMAT``: ``text`` or ``json``) and the request log line.

Every record logged while a request, a job or a webhook delivery is being handled carries
that request's id (``observability.context``). The request line (logger ``cmpapi.access``,
one per request, written by the ``Observe`` middleware) has the method, the path with the
values of secret query parameters replaced (``redact_query``), the status, the operation,
the duration and the caller's organization. Headers and bodies are never logged: no token,
secret or password can reach the log through it.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import unquote_plus

import orjson

from cmpapi.server.observability.context import current

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

# The request line's fields, in the order the JSON line lists them.
REQUEST_FIELDS = (
    "method",
    "path",
    "status",
    "operation",
    "duration_ms",
    "client_addr",
)


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


def request_target(scope: Any) -> str:
    """The request's path and query string as the client sent them, secrets redacted."""
    raw = scope.get("raw_path")
    path: str = raw.decode("latin-1") if raw else scope["path"]
    query: bytes = scope.get("query_string", b"")
    if not query:
        return path
    return redact_query(f"{path}?{query.decode('latin-1')}")


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


def _request_id(record: logging.LogRecord) -> tuple[str | None, str | None]:
    given = record.__dict__.get("request_id")
    if given is not None:
        return given, record.__dict__.get("org_id")
    info = current()
    return (info.request_id, info.org_id) if info is not None else (None, None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id
    (when the record belongs to a request's work), the request line's fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, org_id = _request_id(record)
        if request_id is not None:
            out["request_id"] = request_id
        if org_id is not None:
            out["org_id"] = org_id
        fields = record.__dict__
        for name in REQUEST_FIELDS:
            value = fields.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()


def _utc(created: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """uvicorn's look (``INFO:     message``), the request id appended to records of a
    request's work; request lines like uvicorn's access log plus operation, duration, id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from uvicorn.logging import DefaultFormatter

        kwargs.pop("use_colors", None)
        super().__init__(*args, **kwargs)
        self._prefix = DefaultFormatter(fmt="%(levelprefix)s %(message)s", use_colors=False)

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        request_id, org_id = _request_id(record)
        if "operation" in fields and record.name == "cmpapi.access":
            line = (
                f'{fields["client_addr"]} - "{fields["method"]} {fields["path"]} '
                f'HTTP/{fields["http_version"]}" {fields["status"]} {fields["operation"]} '
                f"{fields['duration_ms']}ms rid={request_id}"
            )
            if org_id is not None:
                line += f" org={org_id}"
            return self._with_prefix(record, line)
        text = self._with_prefix(record, record.getMessage())
        if request_id is not None:
            text += f" [rid={request_id}]"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text

    def _with_prefix(self, record: logging.LogRecord, message: str) -> str:
        copy = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None})
        copy.exc_info = None
        copy.exc_text = None
        return self._prefix.format(copy)


class RequestIdFilter(logging.Filter):
    """Adds ``rid`` to every record (`` [rid=...]`` or empty), for %-style formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id(record)[0]
        record.rid = f" [rid={request_id}]" if request_id is not None else ""
        return True


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def formatter(log_format: str) -> logging.Formatter:
    """A formatter of ``log_format`` (text, json)."""
    return FORMATTERS[log_format]()
