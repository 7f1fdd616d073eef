"""`cmpapi backup`: taken from a running server while clients upload, rename and delete
files, restored into a new data directory and served from there, every asset of the
restored database downloads with its original bytes. A file deleted after the snapshot is
noticed; PostgreSQL and S3 installs are refused with what to use instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmpapi.server import backup, demo, demo_files
from tests.support.env import child_env
from tests.support.local_cli import Ran, cmpapi
from tests.support.servers import demo_process, free_port, wait_serving

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, **settings: str) -> Ran:
    return cmpapi(*args, cwd=ROOT, **settings)


def token(base: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": demo.CLIENT_ID,
        "client_secret": demo.CLIENT_SECRET,
    }
    r = httpx.post(f"{base}/o/oauth2/v1/token", data=form, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Writer(threading.Thread):
    """A client that keeps uploading files as new assets, renaming some and deleting
    others, until stopped; ``uploaded`` holds the bytes of every asset it ever made."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.api = httpx.Client(base_url=base, headers=token(base), timeout=30)
        self.stop = threading.Event()
        self.uploaded: dict[str, bytes] = {}
        self.writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.api.close()

    def step(self) -> None:
        data = os.urandom(256 * 1024 + self.writes)
        asset_id = self.upload(data)
        self.uploaded[asset_id] = data
        if self.writes % 3 == 1:  # rename the one before
            r = self.api.patch(f"/v3/raw-files/{asset_id}", json={"title": f"renamed {asset_id}"})
            assert r.status_code == 200, r.text
        if self.writes % 3 == 2:  # delete one of the earlier ones (its file goes too)
            r = self.api.delete(f"/v3/raw-files/{list(self.uploaded)[-2]}")
            assert r.status_code == 200, r.text
        self.writes += 1

    def upload(self, data: bytes) -> str:
        form = self.api.get("/v3/upload-url").json()
        fields = form["upload_meta_fields"]
        r = httpx.post(form["url"], data=fields, files={"file": ("f.bin", data)}, timeout=30)
        assert r.status_code == 204, r.text
        r = self.api.post("/v3/assets", json={"key": fields["key"], "title": f"w{self.writes}"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path / "data"
    with demo_process(data_dir) as (_proc, base):
        yield base, data_dir


def all_assets(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = api.get("/v3/assets", params={"offset": len(found), "page_size": 100}).json()
        found += page["data"]
        if page["pagination"]["next"] is None:
            return found


def test_a_backup_taken_while_writing_restores_every_file(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base, data_dir = served
    writer = Writer(base)
    writer.start()
    try:
        while writer.writes < 6 and writer.error is None:  # some files before the first
            writer.join(0.05)
        dests = [tmp_path / f"backup{n}" for n in range(3)]
        for dest in dests:
            before = writer.writes
            done = cli("backup", str(dest), CMPAPI_DATA_DIR=str(data_dir))
            assert done.code == 0, done.err
            assert "backed up" in done.out
            while writer.writes == before and writer.error is None:  # writes in between
                writer.join(0.05)
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None, repr(writer.error)
    for dest in dests:
        checked = cli("backup", "--check", str(dest))
        assert checked.code == 0, checked.err
    restored = restore(dests[-1], tmp_path / "restored")
    expected = writer.uploaded | {demo.demo_id(f"asset:{t}"): d for t, d in known_files().items()}
    port = free_port()
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--port", str(port)]
    log = tmp_path / "restored.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(CMPAPI_DATA_DIR=str(restored)),
        )
    try:
        restored_base = f"http://127.0.0.1:{port}"
        wait_serving(proc, restored_base, log.read_text)
        with httpx.Client(base_url=restored_base, headers=token(restored_base)) as api:
            assets = [a for a in all_assets(api) if a["content"]["type"] == "url"]
            ours = [a for a in assets if a["id"] in writer.uploaded]
            assert ours, "the backup holds assets the writer made"
            for asset in assets:
                got = httpx.get(asset["content"]["value"], timeout=30)
                assert got.status_code == 200, (asset["title"], got.text)
                assert got.content == expected[asset["id"]], asset["title"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def known_files() -> dict[str, bytes]:
    return demo_files.images() | demo_files.raw_files()


def restore(backup_dir: Path, data_dir: Path) -> Path:
    """docs/deploying.md's restore: the server stopped, the backup copied in place."""
    shutil.copytree(backup_dir, data_dir)
    return data_dir


def test_a_file_deleted_after_the_snapshot_is_noticed(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """The case the rounds exist for: the snapshot names a file that a later commit
    deleted before the copy reached it. The check finds it missing; a backup taken now
    (a new snapshot) is whole."""
    base, data_dir = served
    writer = Writer(base)
    asset_id = writer.upload(b"deleted after the snapshot")
    key = backup.referenced_keys(data_dir / "cmpapi.db")
    backup.snapshot(data_dir / "cmpapi.db", tmp_path / "snapshot.db")
    assert writer.api.delete(f"/v3/raw-files/{asset_id}").status_code == 200
    copied = backup.Copied()
    backup.copy_objects(data_dir / "objects", tmp_path / "objects", copied)
    missing = backup.referenced_keys(tmp_path / "snapshot.db") - copied.objects.keys()
    assert len(missing) == 1 and missing < key
    made = backup.make_backup(
        data_dir / "cmpapi.db", data_dir / "objects", data_dir, tmp_path / "whole"
    )
    assert made.rounds == 1 and not backup.check_backup(tmp_path / "whole").problems
    writer.api.close()


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"CMPAPI_DATABASE_URL": "postgresql+psycopg://cmp:pw@db.example/cmp"}, "pg_dump"),
        ({"CMPAPI_STORAGE_BACKEND": "s3", "CMPAPI_S3_BUCKET": "media"}, "bucket versioning"),
    ],
)
def test_postgresql_and_s3_installs_are_refused(
    settings: dict[str, str], says: str, tmp_path: Path
) -> None:
    done = cli("backup", str(tmp_path / "b"), CMPAPI_DATA_DIR=str(tmp_path), **settings)
    assert done.code == 2
    assert says in done.err and "docs/deploying.md#backups" in done.err
    assert "pw" not in done.err  # the database password is not printed
    assert not (tmp_path / "b").exists()


def test_an_existing_destination_is_refused_and_a_damaged_backup_fails_its_check(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    _base, data_dir = served
    dest = tmp_path / "b"
    assert cli("backup", str(dest), CMPAPI_DATA_DIR=str(data_dir)).code == 0
    again = cli("backup", str(dest), CMPAPI_DATA_DIR=str(data_dir))
    assert again.code == 1 and "not an empty directory" in again.err
    victim = next(p for p in (dest / "objects" / "renditions").iterdir())
    victim.write_bytes(victim.read_bytes()[:-1])
    checked = cli("backup", "--check", str(dest))
    assert checked.code == 1
    assert f"renditions/{victim.name}: size or SHA-256 differs" in checked.err
