"""The local store's disk full during uploads: the presigned POST, a multipart part PUT and
the multipart assembly. Each answers 507 (``InsufficientStorage``; S3 XML on the S3
stand-in endpoints, a FAILED status for the assembly), removes what it had half-written, and
works again once space is freed.

A real full disk: a small tmpfs mounted for the test (needs root; skipped otherwise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cmpapi.server.app import create_app
from cmpapi.server.settings import Settings
from tests.support.servers import serving
from tests.support.world import World

MiB = 1024 * 1024
DISK = 16 * MiB


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 16 MiB tmpfs: a disk that really fills up."""
    mountpoint = Path(tempfile.mkdtemp(prefix="cmpapi-full-"))
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mountpoint)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        mounted = None
    if mounted is None or mounted.returncode != 0:
        mountpoint.rmdir()
        why = mounted.stderr.strip() if mounted else "no mount command"
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {why}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        mountpoint.rmdir()


class Ballast:
    """A file outside the store's keys that takes the disk's space, down to what is asked."""

    def __init__(self, disk: Path) -> None:
        self.path = disk / "ballast"

    def leave_free(self, free: int) -> None:
        self.release()
        stats = os.statvfs(self.path.parent)
        size = stats.f_bavail * stats.f_frsize - free
        with self.path.open("wb") as f:
            f.write(b"\0" * size)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def app(small_disk: Path, tmp_path: Path, sqlite_template: Path) -> Iterator[FastAPI]:
    """The local store on the small disk; the database (and all else) on the real one."""
    shutil.copy(sqlite_template, tmp_path / "cmpapi.db")
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'cmpapi.db'}",
        storage_dir=small_disk / "objects",
        worker_poll_interval=0.1,
    )
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def files_under(root: Path) -> dict[str, int]:
    """Every file the store holds (path -> size); directories left empty do not count."""
    return {
        str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()
    }


def assert_insufficient_storage(response: httpx.Response) -> None:
    assert response.status_code == 507, response.text
    assert "<Code>InsufficientStorage</Code>" in response.text
    assert "server has no storage space left" in response.text
    assert "os error" not in response.text  # nothing of the cause leaks
    assert response.headers["access-control-allow-origin"] == "*"


def wait_status(client: httpx.Client, world: World, upload_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status: dict[str, Any] = client.get(
            f"/v3/multipart-uploads/{upload_id}/status", headers=world.auth()
        ).json()
        if status["status"] != "UPLOAD_COMPLETION_IN_PROGRESS" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_presigned_post_on_a_full_disk(app: FastAPI, small_disk: Path, world: World) -> None:
    objects, ballast = small_disk / "objects", Ballast(small_disk)
    data = os.urandom(3 * MiB)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        form = client.get("/v3/upload-url", headers=world.auth()).json()
        ballast.leave_free(1 * MiB)
        r = httpx.post(form["url"], data=form["upload_meta_fields"], files={"file": data})
        assert_insufficient_storage(r)
        assert files_under(objects) == {}  # the partial file is gone

        ballast.release()  # an operator frees space: the same upload works
        r = httpx.post(form["url"], data=form["upload_meta_fields"], files={"file": data})
        assert r.status_code == 204, r.text
        assert files_under(objects) == {form["upload_meta_fields"]["key"]: len(data)}


def test_multipart_on_a_full_disk(app: FastAPI, small_disk: Path, world: World) -> None:
    objects, ballast = small_disk / "objects", Ballast(small_disk)
    data = os.urandom(6 * MiB)  # parts of 5 MiB and 1 MiB
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        created = client.post(
            "/v3/multipart-uploads", json={"file_size": len(data)}, headers=world.auth()
        ).json()
        urls = created["upload_part_urls"]

        # A part that does not fit: 507, nothing kept; a part that does: stored.
        ballast.leave_free(2 * MiB)
        assert_insufficient_storage(httpx.put(urls[0], content=data[: 5 * MiB]))
        assert files_under(objects) == {}
        assert httpx.put(urls[1], content=data[5 * MiB :]).status_code == 200
        ballast.release()
        assert httpx.put(urls[0], content=data[: 5 * MiB]).status_code == 200
        parts = files_under(objects)
        assert sorted(parts.values()) == [1 * MiB, 5 * MiB]

        # Assembly needs another 6 MiB: it fails with a status, the parts stay, no partial
        # file is left; completing again once there is space succeeds.
        ballast.leave_free(3 * MiB)
        assert client.post(created["links"]["complete"], headers=world.auth()).status_code == 202
        status = wait_status(client, world, created["id"])
        assert status["status"] == "UPLOAD_COMPLETION_FAILED", status
        assert files_under(objects) == parts

        ballast.release()
        assert client.post(created["links"]["complete"], headers=world.auth()).status_code == 202
        status = wait_status(client, world, created["id"])
        assert status["status"] == "UPLOAD_COMPLETION_SUCCEEDED", status
        assembled = files_under(objects)
        assert assembled == {status["key"]: len(data)}
        assert (objects / status["key"]).read_bytes() == data
