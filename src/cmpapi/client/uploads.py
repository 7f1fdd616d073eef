"""What both clients' uploads share, without network I/O: the file being sent (read by
ranges, never whole), how a file is cut into parts, the ``multipart/form-data`` body of a
presigned POST, progress counting, and the journal that lets an interrupted multipart
upload resume (:class:`UploadJournal`, or any :class:`ResumeStore`).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import httpx

from cmpapi.client.errors import APIError, CMPError

MiB = 1024**2
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10_000
MAX_FILE_SIZE = 5 * 1024**4
MAX_POST_SIZE = 5 * 1024**3
DEFAULT_PART_SIZE = 8 * MiB
MULTIPART_THRESHOLD = 64 * MiB
CHUNK_SIZE = MiB

UploadProgress = Callable[[int, int], None]
"""``progress(done_bytes, total_bytes)``; with the sync client's parallel parts it is called
from worker threads (one at a time)."""

Source = str | os.PathLike[str] | IO[bytes]
"""What can be uploaded: a path, or a binary file object open for reading and seekable
(sent from its current position to its end)."""


class UploadError(CMPError):
    """An upload that cannot go on: an unusable source, or a multipart upload whose
    assembly failed (``status_message`` from the server) or did not finish in time."""


class StorageError(APIError):
    """A non-2xx answer of a presigned storage URL (S3 or the local stand-in); ``code`` is
    the S3 error code of its XML body (``AccessDenied``, ``NoSuchUpload``...)."""

    def __init__(self, response: httpx.Response, code: str, message: str) -> None:
        self.code = code
        super().__init__(response, f"{code}: {message}" if code else message, {})


def storage_error(response: httpx.Response) -> StorageError:
    """The exception for a failed PUT or POST to storage (its body already read)."""
    text = response.text
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    return StorageError(
        response,
        code.group(1) if code else "",
        message.group(1) if message else (response.reason_phrase or "storage error"),
    )


def choose_part_size(file_size: int, part_size: int | None = None) -> int:
    """The part size for a multipart upload of ``file_size`` bytes: ``part_size`` when
    given (checked against the CMP's limits: 5 MiB to 5 GiB, at most 10,000 parts), else
    8 MiB, grown in whole MiB until 10,000 parts hold the file."""
    if not 1 <= file_size <= MAX_FILE_SIZE:
        raise ValueError(f"a multipart upload takes 1 byte to 5 TiB, not {file_size} bytes")
    if part_size is None:
        needed = -(-file_size // MAX_PARTS)
        return max(DEFAULT_PART_SIZE, -(-needed // MiB) * MiB)
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise ValueError(f"part_size must be 5 MiB to 5 GiB, not {part_size}")
    if -(-file_size // part_size) > MAX_PARTS:
        needed = -(-file_size // MAX_PARTS)
        message = f"{file_size} bytes in parts of {part_size} exceed 10,000 parts"
        raise ValueError(f"{message}; use part_size >= {needed}")
    return part_size


def part_span(number: int, part_size: int, file_size: int) -> tuple[int, int]:
    """Offset and length of part ``number`` (1-based) in the file."""
    offset = (number - 1) * part_size
    return offset, min(part_size, file_size - offset)


def source_name(source: Source, filename: str | None = None) -> str:
    """The name a file is uploaded under: ``filename``, else the path's or the file
    object's last segment (``file`` when it has none)."""
    if filename:
        return filename
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "file"


class UploadFile:
    """The bytes to upload: ``read_at`` is safe from several threads or tasks at once (one
    handle, seek and read under a lock), so parts are read when they are sent."""

    def __init__(self, source: Source, filename: str | None = None) -> None:
        self._lock = threading.Lock()
        if isinstance(source, str | os.PathLike):
            self.path: Path | None = Path(source).resolve()
            self._file: IO[bytes] = self.path.open("rb")
            self._owned = True
        else:
            self.path, self._file, self._owned = None, source, False
            seekable = getattr(source, "seekable", None)
            if not (callable(seekable) and seekable() and hasattr(source, "read")):
                raise UploadError("a file object to upload must be readable and seekable")
        self._start = self._file.tell()
        self.size = self._file.seek(0, os.SEEK_END) - self._start
        self.name = source_name(source, filename)

    def __enter__(self) -> UploadFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owned:
            self._file.close()

    @property
    def content_type(self) -> str:
        """The media type its name suggests."""
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (from the start of what is uploaded)."""
        with self._lock:
            self._file.seek(self._start + offset)
            return self._file.read(length)

    def chunks(self, offset: int, length: int) -> Iterator[bytes]:
        """``length`` bytes from ``offset``, a chunk at a time; fails if the file shrank."""
        end = offset + length
        while offset < end:
            chunk = self.read_at(offset, min(CHUNK_SIZE, end - offset))
            if not chunk:
                raise UploadError(f"{self.name} ended at {offset} bytes while being uploaded")
            offset += len(chunk)
            yield chunk

    def resume_key(self, base_url: str) -> str:
        """The journal key of this file for this server: its path, size and modification
        time, so that a changed file is never resumed."""
        if self.path is None:
            raise UploadError("resuming an upload needs a path, not a file object")
        mtime = self.path.stat().st_mtime_ns
        identity = f"{base_url}\n{self.path}\n{self.size}\n{mtime}"
        return hashlib.sha256(identity.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class FormBody:
    """A presigned POST: every meta field in the order received, then the file as
    ``file``, last. Head and tail are built here; the file streams between them."""

    head: bytes
    tail: bytes
    content_type: str

    @classmethod
    def build(cls, fields: dict[str, str], filename: str, file_type: str) -> FormBody:
        """The form around a file called ``filename``."""
        boundary = secrets.token_hex(16)
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{_quoted(filename)}"\r\nContent-Type: {file_type}\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        return cls(head, tail, f"multipart/form-data; boundary={boundary}")

    def length(self, file_size: int) -> int:
        """The body's Content-Length (S3 takes no chunked uploads)."""
        return len(self.head) + file_size + len(self.tail)


def _quoted(value: str) -> str:
    # As browsers escape form names (HTML5): a quote or newline cannot end the header.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class Meter:
    """Bytes sent so far, reported to an :data:`UploadProgress` (thread-safe: the sync
    client sends parts from several threads). A part sent again is taken back first."""

    def __init__(self, callback: UploadProgress | None, total: int, done: int = 0) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.total = total
        self.done = done

    def add(self, count: int) -> None:
        """``count`` more bytes went out (negative: taken back)."""
        with self._lock:
            self.done += count
            if self._callback is not None:
                self._callback(self.done, self.total)


class Attempt:
    """One sending of some bytes: counted into the meter as they go, taken back if the
    sending fails (it is retried from its start)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.sent = 0

    def count(self, size: int) -> None:
        """``size`` more bytes of this sending went out."""
        self.sent += size
        self.meter.add(size)

    def take_back(self) -> None:
        """The sending failed: its bytes are to be sent again."""
        if self.sent:
            self.meter.add(-self.sent)
            self.sent = 0


@dataclass
class MultipartState:
    """A multipart upload in flight: what resuming it needs. ``done`` holds the numbers
    (1-based) of the parts the storage accepted."""

    upload_id: str
    file_size: int
    part_size: int
    part_urls: list[str]
    expires_at: datetime
    done: set[int] = field(default_factory=set)

    def missing(self) -> list[int]:
        """The parts still to send, in order."""
        return [n for n in range(1, len(self.part_urls) + 1) if n not in self.done]

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (``done`` is kept apart: it changes with every part)."""
        return {
            "upload_id": self.upload_id,
            "file_size": self.file_size,
            "part_size": self.part_size,
            "part_urls": self.part_urls,
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], done: set[int]) -> MultipartState:
        """The state saved by :meth:`to_json`, with the parts done since."""
        return cls(
            upload_id=str(data["upload_id"]),
            file_size=int(data["file_size"]),
            part_size=int(data["part_size"]),
            part_urls=[str(u) for u in data["part_urls"]],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            done=done,
        )


class ResumeStore(Protocol):
    """Where multipart uploads in flight are remembered between runs, by a key the client
    derives from the server, the file's path, size and modification time."""

    def load(self, key: str) -> MultipartState | None:
        """The upload saved under ``key``, or None."""

    def begin(self, key: str, state: MultipartState) -> None:
        """Remember a new upload (replacing any under ``key``)."""

    def part_done(self, key: str, number: int) -> None:
        """Part ``number`` was accepted by the storage."""

    def discard(self, key: str) -> None:
        """Forget the upload (it succeeded, or cannot be resumed)."""


class UploadJournal:
    """A :class:`ResumeStore` in a directory (created 0700: part URLs are credentials):
    per upload, ``<key>.json`` holds the plan (written once) and ``<key>.parts`` gets one
    line per accepted part (appended, so 10,000 parts cost 10,000 short writes)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _paths(self, key: str) -> tuple[Path, Path]:
        if not re.fullmatch(r"[0-9a-f]{1,64}", key):
            raise ValueError(f"not a journal key: {key!r}")
        return self.directory / f"{key}.json", self.directory / f"{key}.parts"

    def load(self, key: str) -> MultipartState | None:
        """The upload saved under ``key``; None if absent or unreadable."""
        plan, parts = self._paths(key)
        try:
            data = json.loads(plan.read_text())
            # Only whole lines count: a line without its newline was cut short (crash).
            lines = parts.read_text().split("\n")[:-1] if parts.exists() else []
            return MultipartState.from_json(data, {int(n) for n in lines if n.isdigit()})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def begin(self, key: str, state: MultipartState) -> None:
        """Write the plan (atomically) and an empty parts log."""
        plan, parts = self._paths(key)
        parts.unlink(missing_ok=True)
        temporary = plan.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(state.to_json(), out)
        os.replace(temporary, plan)
        for number in sorted(state.done):
            self.part_done(key, number)

    def part_done(self, key: str, number: int) -> None:
        """Append ``number`` to the parts log (one ``write``: whole lines even from threads)."""
        descriptor = os.open(self._paths(key)[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, f"{number}\n".encode())
        finally:
            os.close(descriptor)

    def discard(self, key: str) -> None:
        """Remove both files."""
        for path in self._paths(key):
            path.unlink(missing_ok=True)


@dataclass
class MultipartJob:
    """One call's multipart upload: the file, its progress, the caller's choices and, when
    it resumes, its journal key."""

    file: UploadFile
    meter: Meter
    part_size: int | None
    concurrency: int
    resume: ResumeStore | None
    key: str | None

    def done_bytes(self, state: MultipartState) -> int:
        """How many bytes the parts already accepted hold."""
        return sum(part_span(n, state.part_size, state.file_size)[1] for n in state.done)

    def begin(self, state: MultipartState) -> None:
        """Journal a new upload."""
        if self.resume is not None and self.key is not None:
            self.resume.begin(self.key, state)

    def part_done(self, state: MultipartState, number: int) -> None:
        """Journal an accepted part."""
        state.done.add(number)
        if self.resume is not None and self.key is not None:
            self.resume.part_done(self.key, number)

    def forget(self) -> None:
        """Drop the journal entry (the upload ended, or cannot be resumed)."""
        if self.resume is not None and self.key is not None:
            self.resume.discard(self.key)
