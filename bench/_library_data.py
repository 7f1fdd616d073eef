"""Data for ``bench/library_bench.py``: a SQLite DB with N library assets, and a per-query
SQL profile (timings and ``EXPLAIN QUERY PLAN``) of listAssets on it.

``build`` migrates and seeds the demo organization like ``bench/run.py``, then bulk-inserts
the assets with SQLAlchemy Core (``executemany`` in chunks, one transaction): each asset
with its version row and its owner's ACL entry, as ``createAsset`` would leave them.
"""

from __future__ import annotations

import asyncio
import io
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CHUNK = 5_000
FOLDERS = 5  # root folders the assets are spread over (round robin)
LABELLED_SHARE = 0.10  # assets carrying the benchmarked label value
OTHER_SHARE = 0.20  # assets carrying another value of the same group (index selectivity)
MEMBER = "mia.marketer"  # a demo member; granted view access on the first folder only
TYPES = (  # (type, mime, extension, share)
    ("image", "image/png", "png", 0.7),
    ("video", "video/mp4", "mp4", 0.1),
    ("raw_file", "application/pdf", "pdf", 0.2),
)
TOKEN_TTL = 7 * 24 * 3600


@dataclass
class LibraryData:
    """What the benchmark needs to know about the generated data."""

    data_dir: Path
    admin_token: str
    member_token: str
    admin_id: str
    member_id: str
    app_id: str
    group_id: str
    value_id: str
    folder_ids: list[str]
    member_folder_id: str
    assets: int  # in the organization (admin's total_count)
    labelled: int  # carrying value_id
    member_visible: int
    timings_s: dict[str, float] = field(default_factory=dict)
    db_bytes: int = 0


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def _put_object(settings: Any) -> tuple[str, int]:
    """One small real object in the local store, shared by every asset."""
    from cmpapi.server.db.base import new_id
    from cmpapi.server.storage import make_store

    store = make_store(settings)
    key, data = f"assets/{new_id()}", _png()
    asyncio.run(store.put_bytes(key, data, "image/png"))
    return key, len(data)


def build(
    data_dir: Path, rows: int, seed: int = 42, database_url: str | None = None
) -> LibraryData:
    """Create the DB in ``data_dir`` (or at ``database_url``, which must be empty) with
    ``rows`` assets; return tokens, ids and counts."""
    from sqlalchemy import func, insert, select
    from sqlalchemy.orm import Session

    from cmpapi.server import demo
    from cmpapi.server.db.base import new_id
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.oauth import store as oauth
    from cmpapi.server.oauth.tables import OAuthApp
    from cmpapi.server.resources.labels import service as labels
    from cmpapi.server.resources.library import acl, counts
    from cmpapi.server.resources.library.tables import (
        AclEntry,
        Asset,
        AssetLabel,
        AssetVersion,
        Folder,
    )
    from cmpapi.server.settings import Settings

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(settings)
    admin_id, member_id = demo.demo_id("user:ada.admin"), demo.demo_id(f"user:{MEMBER}")
    org = demo.ORG_ID
    try:
        upgrade(engine)
        with Session(engine) as session:
            demo.seed(session)
            timings["migrate_and_seed"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            group = labels.create_label_group(session, org, "Bench Campaign", ["Tagged", "Other"])
            value_id, other_id = (v.id for v in group.values)
            folder_ids = [new_id() for _ in range(FOLDERS)]
            for i, folder_id in enumerate(folder_ids):
                session.add(
                    Folder(
                        id=folder_id,
                        org_id=org,
                        name=f"Bench folder {i}",
                        parent_id=None,
                        id_path=f"/{folder_id}/",
                        created_by=admin_id,
                    )
                )
                session.flush()
                acl.grant(
                    session, org, ("folder", folder_id), ("user", admin_id), acl.FULL, is_owner=True
                )
            acl.grant(
                session, org, ("folder", folder_ids[0]), ("user", member_id), acl.LEVELS["view"]
            )
            app = session.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID))
            app = app.one()
            tokens = [
                str(oauth.issue_token(session, app, user, kind="access", ttl_seconds=TOKEN_TTL).raw)
                for user in (admin_id, member_id)
            ]
            session.commit()
            app_id, group_id = app.id, group.id
        storage_key, size = _put_object(settings)
        timings["labels_folders_tokens_object"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        rng = random.Random(seed)
        picked = rng.sample(range(rows), int(rows * (LABELLED_SHARE + OTHER_SHARE)))
        cut = int(rows * LABELLED_SHARE)
        label_of = dict.fromkeys(picked[:cut], value_id) | dict.fromkeys(picked[cut:], other_id)
        generated = _rows(
            rows, rng, org, admin_id, folder_ids, storage_key, size, label_of, group_id
        )
        tables = (Asset.__table__, AssetVersion.__table__, AclEntry.__table__, AssetLabel.__table__)
        with engine.begin() as conn:
            for chunk in _chunks(generated, CHUNK):
                for table, batch in zip(tables, zip(*chunk, strict=True), strict=True):
                    batch = [row for row in batch if row is not None]
                    if batch:
                        conn.execute(insert(table), batch)
        timings["bulk_insert"] = time.perf_counter() - t2
        with engine.begin() as conn:  # what the server's periodic job does within a minute
            counts.compact(conn)

        with engine.connect() as conn:
            assets = conn.scalar(select(func.count()).select_from(Asset).where(Asset.org_id == org))
        timings["total"] = time.perf_counter() - t0
    finally:
        engine.dispose()
    return LibraryData(
        data_dir=data_dir,
        admin_token=tokens[0],
        member_token=tokens[1],
        admin_id=admin_id,
        member_id=member_id,
        app_id=app_id,
        group_id=group_id,
        value_id=value_id,
        folder_ids=folder_ids,
        member_folder_id=folder_ids[0],
        assets=int(assets or 0),
        labelled=cut,
        member_visible=len(range(0, rows, FOLDERS)),
        timings_s={k: round(v, 2) for k, v in timings.items()},
        db_bytes=sum(p.stat().st_size for p in data_dir.glob("cmpapi.db*")),
    )


Row = dict[str, Any]


def _rows(
    n: int,
    rng: random.Random,
    org: str,
    owner: str,
    folder_ids: list[str],
    storage_key: str,
    size: int,
    label_of: dict[int, str],
    group_id: str,
) -> Iterator[tuple[Row, Row, Row, Row | None]]:
    """(asset, version, owner ACL entry, label or None) per asset. Assets were created one
    every 30 s over the past ~n/2 minutes; each was last modified at a random later time,
    so ``modified_at`` order differs from insertion order."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=30 * n + 86_400)
    kinds = [(t, m, e) for t, m, e, share in TYPES for _ in range(round(share * 10))]
    for i in range(n):
        asset_id, version_id = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}"
        created = start + timedelta(seconds=30 * i)
        modified = created + timedelta(seconds=rng.randrange(0, 86_400))
        type_, mime, ext = kinds[i % len(kinds)]
        title = f"Bench asset {i:06d}.{ext}"
        asset = {
            "id": asset_id,
            "org_id": org,
            "type": type_,
            "title": title,
            "description": None,
            "folder_id": folder_ids[i % len(folder_ids)],
            "owner_id": owner,
            "mime_type": mime,
            "file_extension": ext,
            "file_size": size,
            "width": 16 if type_ == "image" else None,
            "height": 16 if type_ == "image" else None,
            "storage_key": storage_key,
            "html_body": None,
            "is_archived": False,
            "is_public": False,
            "allow_se_indexing": False,
            "alt_text": None,
            "attribution_text": None,
            "tags": [],
            "expires_at": None,
            "version_number": 1,
            "version_id": version_id,
            "created_at": created,
            "modified_at": modified,
        }
        version = {
            "id": version_id,
            "org_id": org,
            "asset_id": asset_id,
            "version_number": 1,
            "type": type_,
            "title": title,
            "mime_type": mime,
            "file_size": size,
            "storage_key": storage_key,
            "created_at": created,
        }
        entry = {
            "org_id": org,
            "resource_type": "asset",
            "resource_id": asset_id,
            "accessor_type": "user",
            "accessor_id": owner,
            "level": 4,
            "is_owner": True,
            "created_at": created,
        }
        value = label_of.get(i)
        label = {"asset_id": asset_id, "group_id": group_id, "value_id": value} if value else None
        yield asset, version, entry, label


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- SQL profile


@dataclass
class Statement:
    """One SQL statement a listAssets call ran, replayed with sqlite3."""

    sql: str
    params: list[Any]
    mean_ms: float | None  # None: interrupted after the time budget
    plan: list[str]
    runs: int = 0


def profile_list(
    data: LibraryData,
    *,
    member: bool,
    query: dict[str, Any],
    budget_s: float = 10.0,
    repeat: int = 5,
) -> list[Statement]:
    """Run ``assets.list_assets`` in-process for one case (the service call the route makes,
    without HTTP and auth), capture its SQL, then replay each statement with sqlite3
    (fetching every row; ``repeat`` times unless it takes over 1 s) and take its
    ``EXPLAIN QUERY PLAN``. A statement running longer than ``budget_s`` is interrupted
    (sqlite3 progress handler) and reported with ``mean_ms=None``."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from cmpapi.server import demo
    from cmpapi.server.authz import Principal
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.resources.library import asset_routes, assets
    from cmpapi.server.settings import Settings
    from cmpapi.wire import ListAssetsParametersQuery

    engine = make_engine(Settings(data_dir=data.data_dir, database_url=None))
    captured: list[tuple[str, list[Any]]] = []
    deadline = [float("inf")]

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        captured.append((sql, list(params or ())))
        deadline[0] = time.monotonic() + budget_s

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_progress_handler(lambda: int(time.monotonic() > deadline[0]), 10_000)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "connect", on_connect)
    user_id, role = (data.member_id, "member") if member else (data.admin_id, "admin")
    principal = Principal(org_id=demo.ORG_ID, user_id=user_id, role=role, app_id=data.app_id)
    params = ListAssetsParametersQuery.model_validate(query)
    interrupted = False
    try:
        with Session(engine) as session:
            assets.list_assets(
                session, principal, asset_routes._filters(params), params.offset, params.page_size
            )
    except OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        interrupted = True
    finally:
        engine.dispose()
    db = sqlite3.connect(data.data_dir / "cmpapi.db")
    try:
        out = []
        for i, (sql, args) in enumerate(captured):
            plan = explain(db, sql, args)
            if interrupted and i == len(captured) - 1:
                out.append(Statement(sql, args, None, plan))
                continue
            runs, elapsed = 0, 0.0
            while runs < repeat and (runs == 0 or elapsed < 1.0):
                started = time.perf_counter()
                db.execute(sql, args).fetchall()
                elapsed += time.perf_counter() - started
                runs += 1
            out.append(Statement(sql, args, round(elapsed / runs * 1000, 3), plan, runs))
        return out
    finally:
        db.close()


def explain(db: sqlite3.Connection, sql: str, args: list[Any]) -> list[str]:
    """``EXPLAIN QUERY PLAN`` as the sqlite3 shell indents it."""
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in db.execute(f"EXPLAIN QUERY PLAN {sql}", args):
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def analyze(data: LibraryData) -> float:
    """Run SQLite's ``ANALYZE`` on the DB (cmpapi never does); returns the seconds taken."""
    started = time.perf_counter()
    db = sqlite3.connect(data.data_dir / "cmpapi.db")
    try:
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()
    return round(time.perf_counter() - started, 2)
