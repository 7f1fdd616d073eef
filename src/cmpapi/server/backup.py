"""A consistent backup of a SQLite + local-files install, taken while the server runs
(``cmpapi backup DEST``), and its check (``cmpapi backup --check DEST``).

The order, and why it makes a consistent copy:

1. **The database first**, with SQLite's online backup API in a single step: the copy is
   made inside one read transaction, so it is the database as of one commit, whatever the
   server writes meanwhile (in WAL mode writers do not wait for it).
2. **Then the object files.** A row that names a file is committed only after the file is
   written (uploads are stored, then recorded), so every file the snapshot names existed
   when the snapshot was taken; files are deleted only after the rows naming them are
   gone. Copying after the snapshot therefore finds every named file, unless a later
   commit deleted its row and the file went before the copy reached it. Files written
   during the copy are taken too when the walk meets them (rows newer than the snapshot
   name them, or nothing does yet): harmless extra files.
3. **Then the check**: every key the snapshot names (the ``storage_key`` columns) must
   have been copied. A missing one was deleted after the snapshot, so a new snapshot no
   longer names it: the snapshot is taken again and what is new is copied, up to
   ``MAX_ROUNDS`` times.
4. **Then the manifest** (size and SHA-256 of every copied file) and the storage secret.
   The backup is written to ``DEST.partial-<pid>`` and renamed to ``DEST`` when complete,
   so ``DEST`` is never a half-made backup.

``DEST`` is laid out as a data directory (``cmpapi.db``, ``objects/``, ``storage-secret``)
plus ``cmpapi-backup.json``: restoring is stopping the server and serving from a copy of
it (docs/deploying.md#backups).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cmpapi import __version__
from cmpapi.server.storage.errors import InvalidKey
from cmpapi.server.storage.keys import validate_key
from cmpapi.server.storage.urlsign import SECRET_FILE

DATABASE = "cmpapi.db"
OBJECTS = "objects"
MANIFEST = "cmpapi-backup.json"
MAX_ROUNDS = 5
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup could not be made, or a backup does not check out."""


@dataclass
class Copied:
    """What a backup holds: each object's size and SHA-256, and the rounds it took."""

    objects: dict[str, tuple[int, str]] = field(default_factory=dict)
    rounds: int = 0

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.objects.values())


def snapshot(database: Path, target: Path) -> None:
    """Copy the live database to ``target`` in one step of SQLite's backup API."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    source = sqlite3.connect(database, timeout=60)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: the whole database in one read transaction
            # One self-contained file (no -wal beside it); the server turns WAL back on.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()


def referenced_keys(database: Path) -> set[str]:
    """The object keys the database names: every ``storage_key`` column of every table."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        keys: set[str] = set()
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")}
            if "storage_key" in columns:
                rows = conn.execute(
                    f"SELECT DISTINCT storage_key FROM {quoted} "  # noqa: S608 - a table name
                    "WHERE storage_key IS NOT NULL AND storage_key != ''"
                )
                keys.update(row[0] for row in rows)
        return keys
    finally:
        conn.close()


def _objects(root: Path) -> Iterator[tuple[str, Path]]:
    """``(key, path)`` of every object under ``root``; files whose names are no key (a
    write's temporary file) are left out."""
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            key = path.relative_to(root).as_posix()
            try:
                yield validate_key(key), path
            except InvalidKey:
                continue


def copy_objects(source: Path, target: Path, copied: Copied) -> None:
    """Copy every object of ``source`` not copied yet, hashing it on the way."""
    for key, path in _objects(source):
        if key in copied.objects:
            continue
        destination = target / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            with path.open("rb") as reader, destination.open("wb") as writer:
                while chunk := reader.read(CHUNK):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
        except FileNotFoundError:  # deleted since the walk saw it
            destination.unlink(missing_ok=True)
            continue
        copied.objects[key] = (size, digest.hexdigest())


def make_backup(database: Path, storage: Path, data_dir: Path, dest: Path) -> Copied:
    """Back up ``database`` and the objects under ``storage`` (and ``data_dir``'s storage
    secret) to ``dest``, which must not exist or be an empty directory."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    partial = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / OBJECTS).mkdir(parents=True)
    try:
        copied = _copy(database, storage, partial)
        secret = data_dir / SECRET_FILE
        if secret.is_file():
            shutil.copy2(secret, partial / SECRET_FILE)
        _write_manifest(partial, copied)
        os.sync()  # everything on disk before the backup takes its name
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return copied


def _copy(database: Path, storage: Path, target: Path) -> Copied:
    """Snapshot, copy, check; again while files the snapshot names went missing."""
    copied = Copied()
    missing: set[str] = set()
    for copied.rounds in range(1, MAX_ROUNDS + 1):
        (target / DATABASE).unlink(missing_ok=True)
        snapshot(database, target / DATABASE)
        copy_objects(storage, target / OBJECTS, copied)
        missing = referenced_keys(target / DATABASE) - copied.objects.keys()
        if not missing:
            return copied
    example = sorted(missing)[0]
    raise BackupError(
        f"{len(missing)} files the database names (e.g. {example}) were deleted during the "
        f"backup, {MAX_ROUNDS} times in a row; run it again"
    )


def _write_manifest(target: Path, copied: Copied) -> None:
    manifest = {
        "format": 1,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cmpapi_version": __version__,
        "database": DATABASE,
        "revisions": sorted(schema_revisions(target / DATABASE)),
        "objects": {k: {"size": s, "sha256": h} for k, (s, h) in sorted(copied.objects.items())},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def schema_revisions(database: Path) -> set[str]:
    """The Alembic revisions the database is at."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.OperationalError:  # no such table: never migrated
        return set()
    finally:
        conn.close()


@dataclass
class Checked:
    """What ``check_backup`` found: the counts, and every problem (none: a good backup)."""

    objects: int = 0
    size: int = 0
    revisions: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def check_backup(dest: Path) -> Checked:
    """Check a backup: its manifest, the database's integrity, every file the database
    names present, every file's size and SHA-256 as recorded."""
    checked = Checked()
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        listed: dict[str, dict[str, object]] = manifest["objects"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        checked.problems.append(f"no readable manifest ({MANIFEST}): {exc}")
        return checked
    database = dest / DATABASE
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    finally:
        conn.close()
    if result != "ok":
        checked.problems.append(f"database {database}: {result}")
        return checked
    checked.revisions = schema_revisions(database)
    for key in sorted(referenced_keys(database) - listed.keys()):
        checked.problems.append(f"object {key}: named by the database, not in the backup")
    for key, expected in listed.items():
        checked.problems.extend(_check_object(dest / OBJECTS / key, key, expected))
        checked.objects += 1
        checked.size += int(str(expected.get("size", 0)))
    return checked


def _check_object(path: Path, key: str, expected: dict[str, object]) -> list[str]:
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as reader:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        return [f"object {key}: unreadable ({exc.strerror or exc})"]
    if size != expected.get("size") or digest.hexdigest() != expected.get("sha256"):
        return [f"object {key}: size or SHA-256 differs from the manifest"]
    return []
