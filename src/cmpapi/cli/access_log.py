"""The logging configuration of ``cmpapi serve`` and ``cmpapi worker``: uvicorn's, with
cmpapi's formatters (``CMPAPI_LOG_FORMAT``: text or json) and the request log.

The request log (``--access-log``, or ``CMPAPI_ACCESS_LOG``; on by default with json) is
cmpapi's own ``cmpapi.access`` logger, written by the ``Observe`` middleware
(``server/observability``): one line per request with its request id, operation, status,
duration and organization, and the path with the values of secret query parameters
(``?access_token=``, an authorization ``code``, the ``signature`` of a signed URL)
replaced with ``REDACTED``. uvicorn's own access log stays off; ``RedactQueryFilter`` still
guards it for anyone who turns it on.

To run cmpapi under another uvicorn or a process manager, pass ``log_config()`` the same
way.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from cmpapi.server.observability.logs import (
    REDACTED,
    SENSITIVE_NAMES,
    SENSITIVE_PARTS,
    JsonFormatter,
    RedactQueryFilter,
    RequestIdFilter,
    is_sensitive,
    redact_query,
)

__all__ = [
    "REDACTED",
    "SENSITIVE_NAMES",
    "SENSITIVE_PARTS",
    "RedactQueryFilter",
    "configure_worker_logging",
    "is_sensitive",
    "log_config",
    "redact_query",
]

_FORMATTER_CLASSES = {
    "text": "cmpapi.server.observability.logs.TextFormatter",
    "json": "cmpapi.server.observability.logs.JsonFormatter",
}


def log_config(log_format: str = "text") -> dict[str, Any]:
    """uvicorn's default logging configuration with cmpapi's formatter on every handler,
    the ``cmpapi`` loggers at INFO (request lines on stdout, the rest on stderr) and the
    redacting filter on uvicorn's access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for name in ("default", "access"):
        config["formatters"][name] = {"()": _FORMATTER_CLASSES[log_format]}
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQueryFilter}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_query"]
    config["loggers"]["cmpapi"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["cmpapi.access"] = {
        "handlers": ["access"],
        "level": "INFO",
        "propagate": False,
    }
    return config


WORKER_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(rid)s"


def configure_worker_logging(log_format: str) -> None:
    """``cmpapi worker``: every record on stderr in ``log_format``, at INFO; a record of a
    job or delivery a request caused names the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(WORKER_TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
