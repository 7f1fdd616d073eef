"""The ObjectStore data plane and multipart control, on the local backend and on a real S3
API (moto server)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cmpapi.server.settings import Settings
from cmpapi.server.storage import InvalidKey, ObjectNotFound, ObjectStore, ObjectTooLarge
from cmpapi.server.storage import s3 as s3_backend
from cmpapi.server.storage.base import MultipartTarget
from cmpapi.server.storage.keys import multipart_key, part_key, validate_key
from cmpapi.server.storage.s3 import S3ObjectStore

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024


async def chunks(total: int, size: int = 64 * 1024, fill: bytes = b"x") -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield fill * n


async def test_put_head_read_stream_copy_delete(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    meta = await store.put_bytes("a/one", data, content_type="image/png")
    assert meta.size == len(data)
    head = await store.head("a/one")
    assert head is not None
    assert head.size == len(data)
    assert head.etag
    if store.backend == "s3":
        assert head.content_type == "image/png"
    assert await store.read_range("a/one", 10, 20) == data[10:20]
    assert await store.read_range("a/one", 299_990, 400_000) == data[299_990:]
    assert await store.read_range("a/one", 500_000, 600_000) == b""
    assert await store.read_range("a/one", 5, 5) == b""
    assert b"".join([c async for c in store.stream("a/one")]) == data
    assert b"".join([c async for c in store.stream("a/one", 100, 1000)]) == data[100:1000]
    assert b"".join([c async for c in store.stream("a/one", 299_000)]) == data[299_000:]
    await store.copy("a/one", "b/two")
    assert await store.read_range("b/two", 0, 5) == data[:5]
    await store.delete("a/one")
    await store.delete("a/one")  # idempotent
    assert await store.head("a/one") is None


async def test_missing_objects(store: ObjectStore) -> None:
    assert await store.head("nothing/here") is None
    with pytest.raises(ObjectNotFound):
        await store.read_range("nothing/here", 0, 10)
    with pytest.raises(ObjectNotFound):
        [c async for c in store.stream("nothing/here")]
    with pytest.raises(ObjectNotFound):
        await store.copy("nothing/here", "else")


async def test_put_stream_counts_and_keeps_atomicity(store: ObjectStore) -> None:
    meta = await store.put_stream("big", chunks(12 * MiB + 3), max_size=13 * MiB)
    assert meta.size == 12 * MiB + 3
    # Over the limit: refused, and the previous object is untouched.
    with pytest.raises(ObjectTooLarge):
        await store.put_stream("big", chunks(7 * MiB, fill=b"y"), max_size=6 * MiB)
    head = await store.head("big")
    assert head is not None
    assert head.size == 12 * MiB + 3
    assert await store.read_range("big", 0, 1) == b"x"
    # Over the limit with no previous object: nothing at all is left.
    with pytest.raises(ObjectTooLarge):
        await store.put_stream("new", chunks(2 * MiB), max_size=MiB)
    assert await store.head("new") is None


async def test_empty_stream_stores_an_empty_object(store: ObjectStore) -> None:
    meta = await store.put_stream("empty", chunks(0))
    assert meta.size == 0
    head = await store.head("empty")
    assert head is not None
    assert head.size == 0


HOSTILE_KEYS = ("../x", "/abs", "a//b", "a/./b", "a/../b", "a b", "", "x" * 600, ".hidden", "a/")


async def test_hostile_keys_are_refused_before_any_io(store: ObjectStore) -> None:
    for key in (*HOSTILE_KEYS, "é", "a\\b", "a\x00b", "a/.."):
        with pytest.raises(InvalidKey):
            validate_key(key)
        with pytest.raises(InvalidKey):
            await store.put_bytes(key, b"x")
        with pytest.raises(InvalidKey):
            await store.head(key)
        with pytest.raises(InvalidKey):
            await store.delete(key)


def test_local_files_stay_under_the_root(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    root = settings.resolved_storage_dir.resolve()
    for key in ("a", "a/b.c", "_parts/x/00001"):
        assert (root / validate_key(key)).resolve().is_relative_to(root)


async def _put_parts(store: ObjectStore, target: MultipartTarget, parts: list[bytes]) -> None:
    if isinstance(store, S3ObjectStore):
        async with httpx.AsyncClient() as http:
            for number, data in enumerate(parts, 1):
                url = store.part_upload_url(
                    target, number, size=len(data), base_url="http://unused", ttl=60
                )
                response = await http.put(url, content=data)
                assert response.status_code == 200, response.text
    else:
        for number, data in enumerate(parts, 1):
            await store.put_bytes(part_key(target.upload_id, number), data)


async def test_multipart_assembly(store: ObjectStore) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1234)]
    key = multipart_key("f" * 32)
    backend_id = await store.create_multipart(key)
    assert (backend_id is None) == (store.backend == "local")
    target = MultipartTarget("f" * 32, key, backend_id)
    await _put_parts(store, target, parts)
    assert await store.list_parts(target) == {1: 5 * MiB, 2: 5 * MiB, 3: 1234}
    meta = await store.complete_multipart(target, 3)
    assert meta.size == 10 * MiB + 1234
    digest = hashlib.sha256()
    async for chunk in store.stream(key):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(b"".join(parts)).hexdigest()
    if store.backend == "local":
        assert await store.list_parts(target) == {}


async def test_multipart_abort_drops_parts(store: ObjectStore) -> None:
    key = multipart_key("e" * 32)
    target = MultipartTarget("e" * 32, key, await store.create_multipart(key))
    await _put_parts(store, target, [b"a" * 10])
    await store.abort_multipart(target)
    await store.abort_multipart(target)  # idempotent
    if store.backend == "local":
        assert await store.list_parts(target) == {}
    assert await store.head(key) is None


async def test_s3_download_url_serves_ranges_and_names(store: ObjectStore) -> None:
    if store.backend != "s3":
        pytest.skip("local download URLs are served by the app (test_upload_flow.py)")
    await store.put_bytes("dl/file", b"0123456789")
    url = store.download_url(
        "dl/file", filename="Résumé 1.pdf", content_type="application/pdf", base_url="x"
    )
    async with httpx.AsyncClient() as http:
        response = await http.get(url, headers={"Range": "bytes=2-4"})
    assert response.status_code == 206
    assert response.content == b"234"
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="R_sum_ 1.pdf"')
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%201.pdf" in disposition


async def test_s3_presigned_post_uploads_to_the_bucket(store: ObjectStore) -> None:
    if store.backend != "s3":
        pytest.skip("the local form is checked in test_local_endpoints.py")
    url, fields = store.presigned_post("0" * 32, base_url="x", max_size=100)
    assert list(fields)[:2] == ["key", "policy"]
    assert list(fields)[-1] == "x-amz-signature"
    async with httpx.AsyncClient() as http:
        response = await http.post(url, data=fields, files={"file": ("a.txt", b"hello")})
    assert response.status_code == 204, response.text
    assert await store.read_range("0" * 32, 0, 5) == b"hello"


async def test_s3_copies_past_the_copy_object_limit(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.backend != "s3":
        pytest.skip("a local copy has no size limit")
    monkeypatch.setattr(s3_backend, "SINGLE_COPY_LIMIT", 100)  # stand-in for 5 GiB
    data = os.urandom(6 * MiB)
    await store.put_bytes("big/src", data, content_type="video/mp4")
    await store.copy("big/src", "big/dst")
    assert b"".join([c async for c in store.stream("big/dst")]) == data
    copied = await store.head("big/dst")
    assert copied is not None
    assert copied.content_type == "video/mp4"
