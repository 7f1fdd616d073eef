"""The local backend's S3 stand-in endpoints over real HTTP: what they refuse (and that a
refusal stores nothing), signed downloads, and memory use while streaming large uploads."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from cmpapi.server.settings import Settings
from cmpapi.server.storage.local import LocalObjectStore
from tests.support.world import World

MiB = 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """Local backend on SQLite (the endpoints never differ by database)."""
    shutil.copy(sqlite_template, tmp_path / "cmpapi.db")
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'cmpapi.db'}")


@pytest.fixture
def store(app: FastAPI) -> LocalObjectStore:
    store: LocalObjectStore = app.state.store
    return store


def stored(store: LocalObjectStore, key: str) -> bool:
    return asyncio.run(store.head(key)) is not None


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch"),
        ({"key": "a" * 32}, 403, "AccessDenied"),
        ({"x-amz-date": "20200101T000000Z"}, 403, "InvalidAccessKeyId"),
    ],
)
def test_tampered_forms_store_nothing(
    store: LocalObjectStore,
    http: httpx.Client,
    world: World,
    change: dict[str, str],
    status: int,
    code: str,
) -> None:
    form = http.get("/v3/upload-url", headers=world.auth()).json()
    fields = {**form["upload_meta_fields"], **change}
    r = httpx.post(form["url"], data=fields, files={"file": b"data"})
    assert r.status_code == status
    assert f"<Code>{code}</Code>" in r.text
    assert r.headers["content-type"] == "application/xml"
    assert not stored(store, form["upload_meta_fields"]["key"])
    assert not stored(store, fields["key"])


def test_expired_and_oversize_forms(store: LocalObjectStore, live_server: str) -> None:
    key = "b" * 32
    url = f"{live_server}/uploads"
    old = datetime.now(UTC) - timedelta(hours=2)
    expired = store.post_signer.fields(key, max_size=100, ttl=3600, now=old)
    r = httpx.post(url, data=expired, files={"file": b"data"})
    assert (r.status_code, "Policy expired" in r.text) == (403, True)
    small = store.post_signer.fields(key, max_size=10, ttl=60, now=datetime.now(UTC))
    r = httpx.post(url, data=small, files={"file": b"x" * 11})
    assert (r.status_code, "<Code>EntityTooLarge</Code>" in r.text) == (400, True)
    assert not stored(store, key)
    r = httpx.post(url, data=small, files={"file": b"x" * 10})
    assert r.status_code == 204
    assert r.headers["etag"]
    assert stored(store, key)


def test_malformed_posts(store: LocalObjectStore, live_server: str) -> None:
    key = "c" * 32
    url = f"{live_server}/uploads"
    fields = store.post_signer.fields(key, max_size=100, ttl=60, now=datetime.now(UTC))
    r = httpx.post(url, data=fields)  # urlencoded, no file
    assert (r.status_code, "MalformedPOSTRequest" in r.text) == (400, True)
    r = httpx.post(url, data=fields, files={"other": b"x"})
    assert (r.status_code, "exactly one file" in r.text) == (400, True)
    # A body cut off inside the file part: the partial file is not kept.
    request = httpx.Request("POST", url, data=fields, files={"file": b"y" * 50})
    raw = request.read()
    cut = raw[: raw.rindex(b"y") - 10]
    r = httpx.post(url, content=cut, headers={"Content-Type": request.headers["content-type"]})
    assert r.status_code == 400
    assert not stored(store, key)
    padding = {f"x-ignore-{i}": "v" * 1000 for i in range(30)}
    r = httpx.post(url, data={**fields, **padding}, files={"file": b"x"})
    assert (r.status_code, "too large" in r.text) == (400, True)
    assert not stored(store, key)


def test_signed_downloads_are_checked(store: LocalObjectStore, live_server: str) -> None:
    asyncio.run(store.put_bytes("dl/y", b"abc"))
    url = store.download_url(
        "dl/y", filename="y.txt", content_type="text/plain", base_url=live_server
    )
    ok = httpx.get(url)
    assert ok.content == b"abc"
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert ok.headers["content-disposition"].startswith('attachment; filename="y.txt"')
    forged = httpx.get(url.replace("filename=y.txt", "filename=z.txt"))
    assert (forged.status_code, "SignatureDoesNotMatch" in forged.text) == (403, True)
    other_file = httpx.get(url.replace("/files/dl/y", "/files/dl/z"))
    assert other_file.status_code == 403
    params = {"filename": "y.txt", "type": "text/plain", "disposition": "attachment"}
    past = store.url_signer.sign("download", "/files/dl/y", params, ttl=60, now=time.time() - 120)
    expired = httpx.get(f"{live_server}/files/dl/y?{urlencode(past)}")
    assert (expired.status_code, "Request has expired" in expired.text) == (403, True)
    missing = store.download_url(
        "dl/none", filename="y", content_type="text/plain", base_url=live_server
    )
    assert httpx.get(missing).status_code == 404
    traversal = httpx.get(f"{live_server}/files/../cmpapi.db")
    assert traversal.status_code in (403, 404)


# -- memory --------------------------------------------------------------------------
def _rss() -> int:
    """Resident memory of this process (the live server runs in it), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """Samples RSS in a thread while a block runs."""

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def _streamed_form(fields: dict[str, str], size: int) -> tuple[Iterator[bytes], int, str]:
    """A multipart body generated on the fly: the client never holds the file."""
    boundary = "cmpapi-memory-test-boundary"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk = os.urandom(MiB)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(size // MiB):
            yield chunk
        yield tail

    return body(), len(head) + size + len(tail), f"multipart/form-data; boundary={boundary}"


def stream_upload(store: LocalObjectStore, live_server: str, size: int) -> tuple[int, float]:
    """POST ``size`` bytes through /uploads; (peak RSS growth, seconds)."""
    key = os.urandom(16).hex()
    fields = store.post_signer.fields(key, max_size=size, ttl=600, now=datetime.now(UTC))
    with httpx.Client(timeout=120) as client:
        warm_body, warm_len, warm_type = _streamed_form(fields, MiB)  # first-use allocations
        headers = {"Content-Type": warm_type, "Content-Length": str(warm_len)}
        assert client.post(f"{live_server}/uploads", content=warm_body, headers=headers).is_success
        body, length, content_type = _streamed_form(fields, size)
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
        with PeakRss() as rss:
            started = time.perf_counter()
            response = client.post(f"{live_server}/uploads", content=body, headers=headers)
            elapsed = time.perf_counter() - started
    assert response.status_code == 204, response.text
    assert (store.root / key).stat().st_size == size
    return rss.growth, elapsed


def test_200_mb_upload_streams_in_flat_memory(
    store: LocalObjectStore, live_server: str, record_property: pytest.RecordProperty
) -> None:
    growth, seconds = stream_upload(store, live_server, 200 * MiB)
    record_property("upload_mb_per_s", round(200 / seconds, 1))
    record_property("rss_growth_mb", round(growth / MiB, 1))
    print(f"200 MiB in {seconds:.2f} s ({200 / seconds:.0f} MiB/s), RSS +{growth / MiB:.1f} MiB")
    assert growth < 40 * MiB
    assert seconds < 15


@pytest.mark.skipif(not os.environ.get("CMPAPI_BENCH"), reason="bench only (CMPAPI_BENCH=1)")
def test_1_gb_upload_streams_in_flat_memory(store: LocalObjectStore, live_server: str) -> None:
    growth, seconds = stream_upload(store, live_server, 1024 * MiB)
    print(f"1 GiB in {seconds:.2f} s ({1024 / seconds:.0f} MiB/s), RSS +{growth / MiB:.1f} MiB")
    assert growth < 40 * MiB


def test_browsers_may_upload_from_other_origins(store: LocalObjectStore, live_server: str) -> None:
    url = f"{live_server}/uploads"
    preflight = httpx.options(
        url,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    fields = store.post_signer.fields("e" * 32, max_size=10, ttl=60, now=datetime.now(UTC))
    done = httpx.post(url, data=fields, files={"file": b"x"}, headers={"Origin": "https://a.b"})
    assert done.status_code == 204
    assert done.headers["access-control-allow-origin"] == "*"
    assert done.headers["access-control-expose-headers"] == "ETag"
