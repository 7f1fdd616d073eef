"""Object keys. Keys reach the store from URLs and request bodies, so they are hostile input:
every key is checked here before it touches a disk path or an S3 request.
"""

from __future__ import annotations

import re

from cmpapi.server.db.base import new_id
from cmpapi.server.storage.errors import InvalidKey

# Segments of safe characters separated by single slashes. No empty, "." or ".." segment,
# no leading slash, nothing a filesystem or an URL would reinterpret.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
MAX_KEY_LENGTH = 512
# Keys clients may hand to the API: a getUploadUrl key, or a completed multipart key.
_UPLOAD_KEY = re.compile(r"[0-9a-f]{32}(/[0-9a-f]{32})?")
_ID = re.compile(r"[0-9a-f]{32}")
# Internal namespace for multipart parts (local backend); never a valid upload key.
PARTS_PREFIX = "_parts"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise InvalidKey."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidKey()
    if any(segment.strip(".") == "" for segment in key.split("/")):
        raise InvalidKey()
    return key


def is_upload_key(key: object) -> bool:
    """Whether ``key`` has the shape of a key this server hands to clients."""
    return isinstance(key, str) and _UPLOAD_KEY.fullmatch(key) is not None


def is_id(value: object) -> bool:
    """Whether ``value`` is one of our 32-hex ids."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def new_upload_key() -> str:
    """A fresh key for getUploadUrl: 32 hex characters."""
    return new_id()


def multipart_key(upload_id: str) -> str:
    """The key of a completed multipart upload: ``<32hex>/<upload id>`` (as the CMP does)."""
    return f"{new_id()}/{upload_id}"


def part_key(upload_id: str, part_number: int) -> str:
    """Where the local backend keeps one part of a multipart upload."""
    return f"{PARTS_PREFIX}/{upload_id}/{part_number:05d}"


def parts_prefix(upload_id: str) -> str:
    """The local backend's folder of one multipart upload's parts."""
    return f"{PARTS_PREFIX}/{upload_id}"
