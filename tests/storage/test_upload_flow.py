"""End-to-end uploads over real HTTP, as a client without a browser does them, on both
backends: the server's own endpoints (local) or a real S3 API (moto server)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from cmpapi.server.http.deps import Db
from cmpapi.server.settings import Settings
from cmpapi.server.storage import ObjectStore, inspect_upload
from tests.storage.conftest import s3_settings
from tests.support.world import World

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Settings:
    """The app's settings: SQLite, and each storage backend."""
    shutil.copy(sqlite_template, tmp_path / "cmpapi.db")
    url = f"sqlite:///{tmp_path / 'cmpapi.db'}"
    if request.param == "local":
        return Settings(data_dir=tmp_path, database_url=url)
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return s3_settings(tmp_path, endpoint, bucket, database_url=url)


def picture(fmt: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(buffer, fmt)
    return buffer.getvalue()


def upload(http: httpx.Client, world: World, data: bytes) -> str:
    """getUploadUrl, then the form POST exactly as the CMP documents it; returns the key."""
    form = http.get("/v3/upload-url", headers=world.auth()).json()
    fields = form["upload_meta_fields"]
    # Every meta field in the order received, then the binary as "file", last.
    response = httpx.post(form["url"], data=fields, files={"file": ("photo.bin", data)})
    assert response.status_code == 204, response.text
    assert response.content == b""
    return str(fields["key"])


def test_upload_then_inspect(app: FastAPI, http: httpx.Client, world: World) -> None:
    store: ObjectStore = app.state.store
    db = Db(app.state.db_runner, app.state.sessionmaker)
    for fmt, mime, size in (("JPEG", "image/jpeg", (800, 600)), ("PNG", "image/png", (17, 9))):
        data = picture(fmt, size)
        key = upload(http, world, data)
        info = asyncio.run(inspect_upload(store, db, world.org.id, key, digest=True))
        assert (info.size, info.mime_type, info.kind) == (len(data), mime, "image")
        assert (info.width, info.height) == size
        assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_last_upload_to_a_key_wins(app: FastAPI, http: httpx.Client, world: World) -> None:
    form = http.get("/v3/upload-url", headers=world.auth()).json()
    for content in (b"first version", b"second"):
        r = httpx.post(form["url"], data=form["upload_meta_fields"], files={"file": content})
        assert r.status_code == 204
    key = form["upload_meta_fields"]["key"]
    assert asyncio.run(app.state.store.read_range(key, 0, 100)) == b"second"


# -- multipart, in parallel -----------------------------------------------------------
async def _put_parts(urls: list[str], data: bytes, part_size: int) -> None:
    async with httpx.AsyncClient(timeout=60) as client:

        async def put(index: int) -> None:
            part = data[index * part_size : (index + 1) * part_size]
            response = await client.put(urls[index], content=part)
            assert response.status_code == 200, response.text

        # Out of order and concurrently; then one part again, as a resumed upload does.
        await asyncio.gather(*(put(i) for i in reversed(range(len(urls)))))
        await put(0)


def test_parallel_multipart_upload(app: FastAPI, http: httpx.Client, world: World) -> None:
    data = hashlib.sha256(b"seed").digest() * (16 * MiB // 32 + 1000)
    created = http.post(
        "/v3/multipart-uploads", json={"file_size": len(data)}, headers=world.auth()
    ).json()
    assert created["upload_part_count"] == 4
    asyncio.run(_put_parts(created["upload_part_urls"], data, 5 * MiB))
    completed = http.post(f"/v3/multipart-uploads/{created['id']}/complete", headers=world.auth())
    assert completed.status_code == 202
    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = http.get(completed.json()["links"]["status"], headers=world.auth()).json()
        if status["status"] != "UPLOAD_COMPLETION_IN_PROGRESS":
            break
        time.sleep(0.05)
    assert status["status"] == "UPLOAD_COMPLETION_SUCCEEDED", status
    store: ObjectStore = app.state.store
    db = Db(app.state.db_runner, app.state.sessionmaker)
    info = asyncio.run(inspect_upload(store, db, world.org.id, status["key"], digest=True))
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_wrong_parts_fail_the_assembly(http: httpx.Client, world: World) -> None:
    """S3 takes parts of any size; the assembly checks them (locally the PUT refuses)."""
    created = http.post("/v3/multipart-uploads", json={"file_size": 6 * MiB}, headers=world.auth())
    urls = created.json()["upload_part_urls"]
    if "/uploads/parts/" in urls[0]:
        pytest.skip("the local backend refuses wrong sizes at PUT time (test_uploader.py)")
    assert httpx.put(urls[0], content=b"a" * 100).status_code == 200
    assert httpx.put(urls[1], content=b"b" * MiB).status_code == 200
    complete = http.post(created.json()["links"]["complete"], headers=world.auth())
    status: dict[str, Any] = {}
    for _ in range(600):
        status = http.get(complete.json()["links"]["status"], headers=world.auth()).json()
        if status["status"] != "UPLOAD_COMPLETION_IN_PROGRESS":
            break
        time.sleep(0.05)
    assert status["status"] == "UPLOAD_COMPLETION_FAILED"
    assert status["status_message"] == f"Part 1 has 100 bytes, expected {5 * MiB}"


# -- downloads ------------------------------------------------------------------------
def test_downloads_with_ranges(app: FastAPI, live_server: str) -> None:
    store: ObjectStore = app.state.store
    data = bytes(range(256)) * 4000
    asyncio.run(store.put_bytes("dl/x", data))
    url = store.download_url(
        "dl/x", filename="Été 2026.pdf", content_type="application/pdf", base_url=live_server
    )
    full = httpx.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%C3%89t%C3%A9%202026.pdf" in full.headers["content-disposition"]
    part = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert (part.status_code, part.content) == (206, data[1000:2000])
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, data[-10:])
    beyond = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    if store.backend == "local":
        assert beyond.headers["content-range"] == f"bytes */{len(data)}"
        assert httpx.head(url).headers["content-length"] == str(len(data))
