"""Storage errors. Most extend the domain tree, so a service that lets one escape gets the
usual CMP rendering (404/422); the S3-style upload endpoints render their own XML instead.
``StorageError`` and its kinds are infrastructure failures, rendered as 503/507.
"""

from __future__ import annotations

from cmpapi.server.errors import Invalid, NotFound


class InvalidKey(Invalid):
    """An object key that fails validation (path tricks, bad characters, too long)."""

    default_message = "Invalid object key"


class ObjectNotFound(NotFound):
    """No object under this key."""

    default_message = "Object not found"


class ObjectTooLarge(Invalid):
    """A streamed write went past its size limit; nothing was stored."""

    default_message = "The file is larger than allowed"

    def __init__(self, limit: int, message: str | None = None) -> None:
        super().__init__(message or f"The file is larger than allowed ({limit} bytes)")
        self.limit = limit


class ObjectTooSmall(Invalid):
    """A streamed write ended below its minimum size; nothing was stored."""

    default_message = "The file is smaller than required"


class StorageError(Exception):
    """The store itself failed (not the request): unreachable, out of space. Not a domain
    error on purpose: no service should treat it as the client's fault. ``http/errors.py``
    maps each kind to its answer (503/507); the message stays in the logs."""


class StorageUnavailable(StorageError):
    """The store did not answer, timed out or failed on its side (S3 5xx, I/O error)."""


class StorageFull(StorageError):
    """The store has no space left for this write; nothing was stored."""


def error_headline(exc: BaseException) -> str:
    """The first line of an infrastructure error, for a log line or a message (an obstore
    or driver error's full text carries a debug dump)."""
    return str(exc).strip().split("\n", 1)[0][:300]
