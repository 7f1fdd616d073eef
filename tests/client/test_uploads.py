"""Uploads and downloads through the SDK against a real ``cmpapi serve --demo`` process, on
the local store and on S3 (a moto server), with both clients: presigned POST for small
files, parallel parts for large ones, and resuming an interrupted multipart upload (in this
process, and after the uploading process was killed). Every file comes back by download
with the same SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

from cmpapi.client import (
    AsyncClient,
    Client,
    MultipartState,
    StorageError,
    UploadError,
    UploadJournal,
)
from cmpapi.client.uploads import (
    DEFAULT_PART_SIZE,
    MAX_PART_SIZE,
    FormBody,
    MiB,
    choose_part_size,
)
from tests.storage.conftest import S3_KEY, S3_SECRET, moto_endpoint, s3_client
from tests.support.env import child_env
from tests.support.servers import demo_process

__all__ = ["moto_endpoint"]  # the session's moto server, shared with the storage tests

T = TypeVar("T")
CREDENTIALS = {
    "client_id": "cmpapi-demo-app",
    "client_secret": "cmpapi-demo-secret-do-not-use-in-production",
}
BUCKET = f"sdk-uploads-{os.getpid()}"
PART = 5 * MiB  # the smallest part the CMP takes: several parts stay cheap
POST_LIMIT = 3 * PART  # the servers' largest presigned POST (CMPAPI_UPLOAD_MAX_SIZE)


# -- servers and clients -----------------------------------------------------------------


@dataclass
class Server:
    """A ``cmpapi serve --demo`` process: its storage backend, base URL and output."""

    backend: str
    base: str
    log: list[str] = field(default_factory=list)

    def read(self, output: IO[str]) -> None:
        """Keep the output (a full pipe would stall the server), until it closes."""
        try:
            for line in output:
                self.log.append(line)
        except (OSError, ValueError):  # closed when the process was stopped
            pass


@pytest.fixture(scope="module", params=["local", "s3"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A demo server process on each storage backend. Its worker polls often, so that
    multipart assembly is seen soon; its presigned POSTs take at most ``POST_LIMIT``."""
    env = {"CMPAPI_WORKER_POLL_INTERVAL": "0.2", "CMPAPI_UPLOAD_MAX_SIZE": str(POST_LIMIT)}
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        s3_client(endpoint).create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        env |= {
            "CMPAPI_STORAGE_BACKEND": "s3",
            "CMPAPI_S3_BUCKET": BUCKET,
            "CMPAPI_S3_ENDPOINT_URL": endpoint,
            "CMPAPI_S3_ACCESS_KEY_ID": S3_KEY,
            "CMPAPI_S3_SECRET_ACCESS_KEY": S3_SECRET,
        }
    data_dir = tmp_path_factory.mktemp(request.param) / "data"
    with demo_process(data_dir, env=env) as (proc, base):
        made = Server(request.param, base)
        assert proc.stdout is not None
        threading.Thread(target=made.read, args=(proc.stdout,), daemon=True).start()
        yield made


class Traffic:
    """What went over the wire: every request (method, URL) and the most sent at once."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.peak = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    @contextmanager
    def sending(self, request: httpx.Request) -> Iterator[None]:
        with self._lock:
            self.requests.append((request.method, str(request.url)))
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def puts(self) -> list[str]:
        return [url for method, url in self.requests if method == "PUT"]

    def form_posts(self) -> list[str]:
        """POSTs to the storage (not to the API or the token endpoint)."""
        return [u for m, u in self.requests if m == "POST" and "/v3/" not in u and "/o/" not in u]

    def clear(self) -> None:
        self.requests.clear()
        self.peak = 0


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting."""

    def __init__(self, traffic: Traffic) -> None:
        super().__init__()
        self.traffic = traffic

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.traffic.sending(request):
            return super().handle_request(request)


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    """The real async transport, counting."""

    def __init__(self, traffic: Traffic) -> None:
        super().__init__()
        self.traffic = traffic

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with self.traffic.sending(request):
            return await super().handle_async_request(request)


class Flavour:
    """One client of either flavour; ``run`` gives a call's result in both (the async
    client's calls run on one event loop for the test)."""

    def __init__(self, name: str, base: str) -> None:
        self.name = name
        self.traffic = Traffic()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any
        if name == "sync":
            self.client = Client(
                server=base, transport=CountingTransport(self.traffic), **CREDENTIALS
            )
        else:
            self.loop = asyncio.new_event_loop()
            transport = AsyncCountingTransport(self.traffic)
            self.client = AsyncClient(server=base, transport=transport, **CREDENTIALS)

    def run(self, value: T | Awaitable[T]) -> T:
        if inspect.isawaitable(value):
            assert self.loop is not None
            return self.loop.run_until_complete(value)  # type: ignore[arg-type]
        return value

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


@contextmanager
def client_of(request: pytest.FixtureRequest, name: str, server: Server) -> Iterator[Flavour]:
    """A client of ``server``; when the test fails, the server's recent output is printed
    with the failure."""
    failed_before = request.session.testsfailed
    made = Flavour(name, server.base)
    yield made
    made.close()
    if request.session.testsfailed > failed_before:
        print("".join(server.log[-100:]))


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest, server: Server) -> Iterator[Flavour]:
    """A client of each flavour."""
    with client_of(request, request.param, server) as made:
        yield made


@pytest.fixture
def sync_client(request: pytest.FixtureRequest, server: Server) -> Iterator[Flavour]:
    """A sync client (for the tests where the flavour does not matter)."""
    with client_of(request, "sync", server) as made:
        yield made


# -- helpers -----------------------------------------------------------------------------


def random_file(path: Path, size: int) -> Path:
    """``size`` random bytes at ``path`` (written a MiB at a time)."""
    with path.open("wb") as out:
        for start in range(0, size, MiB):
            out.write(os.urandom(min(MiB, size - start)))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def downloaded_sha256(flavour: Flavour, asset: Any, tmp_path: Path, progress: Any = None) -> str:
    """The SHA-256 of the asset's file, downloaded by the SDK."""
    url = asset.content.value
    target = flavour.run(flavour.client.download(url, tmp_path / "copy", progress=progress))
    assert not target.with_name("copy.part").exists()
    return sha256(target)


class Interrupted(Exception):
    """Raised by a progress callback to cut an upload short."""


def interrupt_after(done_limit: int) -> Any:
    def progress(done: int, total: int) -> None:
        if done > done_limit:
            raise Interrupted

    return progress


MULTIPART = {"multipart_threshold": PART, "part_size": PART}


# -- presigned POST ----------------------------------------------------------------------


def test_a_small_file_goes_by_presigned_post(flavour: Flavour, tmp_path: Path) -> None:
    source = random_file(tmp_path / "notes.bin", 300_000)
    seen: list[tuple[int, int]] = []
    asset = flavour.run(
        flavour.client.library.upload_asset(source, progress=lambda d, t: seen.append((d, t)))
    )
    assert asset.title == "notes.bin"
    assert len(flavour.traffic.form_posts()) == 1
    assert flavour.traffic.puts() == []
    assert seen[-1] == (300_000, 300_000)
    assert downloaded_sha256(flavour, asset, tmp_path) == sha256(source)


def test_a_file_object_is_sent_from_its_position(flavour: Flavour, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    stream = io.BytesIO(b"skipped header" + data)
    stream.seek(len(b"skipped header"))
    key = flavour.run(flavour.client.upload(stream, filename="stream.bin"))
    asset = flavour.run(flavour.client.library.create_asset(body={"key": key, "title": "s"}))
    assert downloaded_sha256(flavour, asset, tmp_path) == hashlib.sha256(data).hexdigest()


# -- multipart ---------------------------------------------------------------------------


def test_a_large_file_goes_in_parallel_parts(flavour: Flavour, tmp_path: Path) -> None:
    size = 2 * PART + 3 * MiB
    source = random_file(tmp_path / "video.bin", size)
    seen: list[int] = []
    asset = flavour.run(
        flavour.client.library.upload_asset(
            source,
            title="Big one",
            concurrency=3,
            progress=lambda d, t: seen.append(d),
            **MULTIPART,
        )
    )
    assert asset.title == "Big one"
    assert len(flavour.traffic.puts()) == 3
    assert flavour.traffic.form_posts() == []
    assert flavour.traffic.peak >= 2  # parts in flight together
    assert seen == sorted(seen) and seen[-1] == size
    assert len(seen) > 3  # finer than one call per part
    chunks: list[tuple[int, int | None]] = []
    copy_sha = downloaded_sha256(flavour, asset, tmp_path, lambda d, t: chunks.append((d, t)))
    assert copy_sha == sha256(source)
    # The download streams: a MiB at a time into the file, never the whole body at once.
    assert len(chunks) >= size // MiB and chunks[-1] == (size, size)


def test_a_file_object_goes_in_parts_too(flavour: Flavour, tmp_path: Path) -> None:
    source = random_file(tmp_path / "raw.bin", PART + MiB)
    with source.open("rb") as f:
        key = flavour.run(flavour.client.upload(f, **MULTIPART))
    assert len(flavour.traffic.puts()) == 2
    asset = flavour.run(flavour.client.library.create_asset(body={"key": key, "title": "f"}))
    assert downloaded_sha256(flavour, asset, tmp_path) == sha256(source)


def test_an_interrupted_upload_resumes_with_the_missing_parts(
    flavour: Flavour, tmp_path: Path
) -> None:
    size = 3 * PART + MiB  # four parts
    source = random_file(tmp_path / "film.bin", size)
    journal = UploadJournal(tmp_path / "journal")
    with pytest.raises(Interrupted):  # during the third part
        flavour.run(
            flavour.client.upload(
                source,
                resume=journal,
                concurrency=1,
                progress=interrupt_after(2 * PART),
                **MULTIPART,
            )
        )
    assert len(list(journal.directory.iterdir())) == 2  # the plan and the parts log
    flavour.traffic.clear()
    seen: list[int] = []
    asset = flavour.run(
        flavour.client.library.upload_asset(
            source, resume=journal, progress=lambda d, t: seen.append(d), **MULTIPART
        )
    )
    assert len(flavour.traffic.puts()) == 2  # parts 3 and 4 only
    assert not any(
        m == "POST" and u.endswith("/multipart-uploads") for m, u in flavour.traffic.requests
    )
    assert seen[0] == 2 * PART and seen[-1] == size
    assert list(journal.directory.iterdir()) == []
    assert downloaded_sha256(flavour, asset, tmp_path) == sha256(source)


KILLED_UPLOAD = """
import os, sys
from cmpapi.client import Client, UploadJournal

def progress(done, total):
    if done > 2 * {part}:
        os._exit(9)  # as abrupt as a kill: no cleanup, no exception handlers

with Client(server=sys.argv[1], client_id={client_id!r}, client_secret={client_secret!r}) as c:
    c.upload(sys.argv[2], resume=UploadJournal(sys.argv[3]), concurrency=1, progress=progress,
             multipart_threshold={part}, part_size={part})
"""


def test_an_upload_resumes_after_its_process_was_killed(
    sync_client: Flavour, server: Server, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "archive.bin", 3 * PART + 1)
    journal = tmp_path / "journal"
    script = textwrap.dedent(KILLED_UPLOAD).format(part=PART, **CREDENTIALS)
    proc = subprocess.run(
        [sys.executable, "-c", script, server.base, str(source), str(journal)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 9, proc.stderr
    client = sync_client.client
    asset = client.library.upload_asset(source, resume=UploadJournal(journal), **MULTIPART)
    assert len(sync_client.traffic.puts()) == 2  # the part cut short, and the last one
    assert list(journal.iterdir()) == []
    assert downloaded_sha256(sync_client, asset, tmp_path) == sha256(source)


def _interrupted_journal(flavour: Flavour, source: Path, journal: UploadJournal) -> Path:
    """A journal of ``source`` with its first part sent; its plan file."""
    with pytest.raises(Interrupted):
        flavour.client.upload(
            source, resume=journal, concurrency=1, progress=interrupt_after(PART), **MULTIPART
        )
    (plan,) = journal.directory.glob("*.json")
    return plan


def _edit(plan: Path, **changes: Any) -> None:
    plan.write_text(json.dumps(json.loads(plan.read_text()) | changes))


@pytest.mark.parametrize(
    "stale",
    [
        {"expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
        {"upload_id": "0" * 32},  # unknown to the server
        "unsigned",  # part URLs the storage refuses (403)
    ],
    ids=["expired", "unknown", "refused"],
)
def test_a_stale_journal_starts_over(sync_client: Flavour, tmp_path: Path, stale: Any) -> None:
    source = random_file(tmp_path / "doc.bin", PART + 1)
    journal = UploadJournal(tmp_path / "journal")
    plan = _interrupted_journal(sync_client, source, journal)
    if stale == "unsigned":
        urls = json.loads(plan.read_text())["part_urls"]
        # A bucket that does not exist (404; moto checks no signatures), or a signature the
        # local store refuses (403).
        broken = [
            u.replace(f"/{BUCKET}/", "/no-such-bucket/").replace("ignature=", "ignature=00")
            for u in urls
        ]
        _edit(plan, part_urls=broken)
    else:
        _edit(plan, **stale)
    sync_client.traffic.clear()
    asset = sync_client.client.library.upload_asset(
        source, resume=journal, concurrency=1, **MULTIPART
    )
    refused = 1 if stale == "unsigned" else 0  # the first refused PUT, then both parts
    assert len(sync_client.traffic.puts()) == refused + 2
    assert list(journal.directory.iterdir()) == []
    assert downloaded_sha256(sync_client, asset, tmp_path) == sha256(source)


def test_a_refused_upload_raises_a_storage_error(
    flavour: Flavour, server: Server, tmp_path: Path
) -> None:
    """The storage's own refusal (here: a form POST above the server's size limit) comes
    back as a StorageError with the S3 error code; the API is never told of the file."""
    if server.backend == "s3":
        pytest.skip("moto does not check a POST policy's conditions (S3 does)")
    source = random_file(tmp_path / "huge.bin", POST_LIMIT + 1)
    with pytest.raises(StorageError) as refused:
        flavour.run(flavour.client.upload(source))
    assert refused.value.status == 400 and refused.value.code == "EntityTooLarge"
    assert len(flavour.traffic.form_posts()) == 1  # a 4xx is not retried


# -- without a server --------------------------------------------------------------------


def test_resuming_needs_a_path(tmp_path: Path) -> None:
    with Client(token="t") as client, pytest.raises(UploadError, match="needs a path"):
        client.upload(io.BytesIO(b"x" * 10), resume=UploadJournal(tmp_path), multipart_threshold=1)


def test_a_stream_that_cannot_seek_is_refused() -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    with (
        Client(token="t") as client,
        os.fdopen(read_end, "rb") as pipe,
        pytest.raises(UploadError, match="seekable"),
    ):
        client.upload(pipe)


def test_the_form_sends_the_fields_in_order_and_the_file_last() -> None:
    fields = {"key": "k", "policy": "p", "x-amz-signature": "s", 'a"b': "v"}
    form = FormBody.build(fields, 'say "hi".txt', "text/plain")
    names = re.findall(rb'; name="([^"]*)"', form.head)
    assert names == [b"key", b"policy", b"x-amz-signature", b"a%22b", b"file"]
    assert b'filename="say %22hi%22.txt"\r\nContent-Type: text/plain\r\n\r\n' in form.head
    boundary = form.content_type.split("boundary=")[1].encode()
    assert form.head.startswith(b"--" + boundary) and form.tail == b"\r\n--" + boundary + b"--\r\n"
    assert form.length(10) == len(form.head) + 10 + len(form.tail)


def test_part_sizes_fit_the_limits() -> None:
    assert choose_part_size(1) == DEFAULT_PART_SIZE
    assert choose_part_size(10**9) == DEFAULT_PART_SIZE
    big = 200 * 1024**3  # 200 GiB: 8 MiB parts would be 25,600
    assert choose_part_size(big) % MiB == 0 and -(-big // choose_part_size(big)) <= 10_000
    assert choose_part_size(5 * 1024**4) <= MAX_PART_SIZE
    assert choose_part_size(50 * MiB, PART) == PART
    with pytest.raises(ValueError, match="5 MiB to 5 GiB"):
        choose_part_size(50 * MiB, MiB)
    with pytest.raises(ValueError, match="part_size >= "):
        choose_part_size(100 * 1024**3, PART)
    with pytest.raises(ValueError, match="1 byte to 5 TiB"):
        choose_part_size(0)


def test_the_journal_keeps_only_whole_lines(tmp_path: Path) -> None:
    journal = UploadJournal(tmp_path)
    state = MultipartState("u" * 32, 3 * PART, PART, ["a", "b", "c"], datetime.now(UTC))
    journal.begin("ab12", state)
    journal.part_done("ab12", 2)
    with (tmp_path / "ab12.parts").open("a") as parts:
        parts.write("3")  # a write cut short: no newline
    loaded = journal.load("ab12")
    assert loaded is not None and loaded.done == {2} and loaded.missing() == [1, 3]
    assert loaded.part_urls == ["a", "b", "c"] and loaded.expires_at == state.expires_at
    journal.discard("ab12")
    assert journal.load("ab12") is None and list(tmp_path.iterdir()) == []
