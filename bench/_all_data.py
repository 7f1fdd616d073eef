"""Data for ``bench/all.py``: one database per (backend, size) holding ``size`` assets,
tasks, campaigns and work requests and ``min(size, FOLDER_CAP)`` folders in an
organization of their own ("Bench All"), built fast and cached between runs.

Rows go in through the tables the write paths fill (so database triggers fire), as
those paths leave them: every asset with its version row, its owner's ``library_acl``
entry, its labels and field values; every folder with its owner's ACL entry; tasks,
campaigns and work requests with their ``org_counters`` sequence. Not written: outbox
rows (no list reads them) and, past the first ``STEPS_CAP`` tasks, task steps and
sub-steps (listTasks reads only ``tasks``; see bench/README.md).

SQLite: plain ``sqlite3`` ``executemany`` in chunks, one transaction, journal off while
building into a temp dir that is renamed into the cache when complete. PostgreSQL:
``COPY ... FROM STDIN`` (psycopg) in one transaction, then ``VACUUM ANALYZE``.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

BUILD_VERSION = 1  # bump when the generated data changes: cached databases are rebuilt
CHUNK = 20_000
META_TABLE = "bench_all_meta"
ORG_NAME = "Bench All"
TOKEN_TTL = 24 * 3600
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@dataclass
class Meta:
    """What the cases need: ids to filter by and the expected counts of each filter."""

    backend: str
    size: int
    head: str
    build_version: int
    org_id: str = ""
    admin_id: str = ""
    member_id: str = ""
    app_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # label/field/folder/workflow/...
    expected: dict[str, int] = field(default_factory=dict)  # matching rows per filter
    counts: dict[str, int] = field(default_factory=dict)  # rows written per table
    writes: dict[str, list[str]] = field(default_factory=dict)  # create op -> tables it wrote
    filled: list[str] = field(default_factory=list)  # of those, filled by triggers in the load
    build_s: dict[str, float] = field(default_factory=dict)
    built_at: str = ""


@dataclass
class Built:
    """A database ready to serve: where it is, its meta, and whether it was reused."""

    meta: Meta
    data_dir: Path
    database_url: str | None  # None: SQLite in data_dir
    reused: bool
    seconds: float


def alembic_head() -> str:
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from cmpapi.server.db.migrate import alembic_config

    engine = create_engine("sqlite://")
    try:
        heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    finally:
        engine.dispose()
    return "+".join(sorted(heads))


# all.py's --pg-prefix: two worktrees benchmarking at once (different migration heads)
# would otherwise rebuild each other's databases.
PG_PREFIX = "cmpapi_bench_all"


def pg_url(size: int) -> str:
    return f"{PG_SERVER}/{PG_PREFIX}_{size}"


def ensure(backend: str, size: int, cache: Path, rebuild: bool) -> Built:
    """The cached database of ``size`` rows on ``backend``, built if missing or stale."""
    head = alembic_head()
    started = time.perf_counter()
    if backend == "sqlite":
        entry = cache / f"{head}-v{BUILD_VERSION}-{size}"
        meta = None if rebuild else _read_meta(f"sqlite:///{entry / 'cmpapi.db'}", entry)
        if meta is None or not _fresh(meta, backend, size, head):
            shutil.rmtree(entry, ignore_errors=True)
            building = entry.with_name(entry.name + ".building")
            shutil.rmtree(building, ignore_errors=True)
            meta = _build(backend, size, head, building, None)
            building.rename(entry)
            return Built(meta, entry, None, False, time.perf_counter() - started)
        return Built(meta, entry, None, True, time.perf_counter() - started)
    url = pg_url(size)
    entry = cache / f"postgresql-{size}"  # its files (objects, storage secret)
    _create_pg_database(url)
    meta = None if rebuild else _read_meta(url, entry)
    if meta is None or not _fresh(meta, backend, size, head):
        shutil.rmtree(entry, ignore_errors=True)
        meta = _build(backend, size, head, entry, url)
        return Built(meta, entry, url, False, time.perf_counter() - started)
    return Built(meta, entry, url, True, time.perf_counter() - started)


def _fresh(meta: Meta, backend: str, size: int, head: str) -> bool:
    return (meta.backend, meta.size, meta.head, meta.build_version) == (
        backend,
        size,
        head,
        BUILD_VERSION,
    )


def _read_meta(url: str, entry: Path) -> Meta | None:
    """The marker row of a complete build (written last, in the load's transaction) if the
    database is at the alembic version it was built at; None otherwise."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    if url.startswith("sqlite") and not (entry / "cmpapi.db").exists():
        return None
    if not entry.exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(text(f"SELECT value FROM {META_TABLE} WHERE key = 'meta'")).scalar()
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            versions = "+".join(sorted(version))
    except DBAPIError:
        return None
    finally:
        engine.dispose()
    if raw is None:
        return None
    try:
        meta = Meta(**json.loads(raw))
    except TypeError:  # a marker of another builder version
        return None
    return meta if versions == meta.head else None


def _create_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists.scalar() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- build


def _build(backend: str, size: int, head: str, data_dir: Path, url: str | None) -> Meta:
    from sqlalchemy import text

    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.settings import Settings

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    meta = Meta(backend=backend, size=size, head=head, build_version=BUILD_VERSION)
    settings = Settings(data_dir=data_dir, database_url=url)
    engine = make_engine(settings)
    try:
        if url is not None:  # a reused database starts empty
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        import _all_setup  # it imports this module's helpers

        _all_setup.setup(engine, settings, meta)  # demo seed + the bench org through the services
        timings["migrate_seed_setup"] = time.perf_counter() - t0
    finally:
        engine.dispose()
    db_url = url or f"sqlite:///{data_dir / 'cmpapi.db'}"
    before = _side_rows(db_url, meta)
    t1 = time.perf_counter()
    if url is None:
        _load_sqlite(data_dir / "cmpapi.db", meta)
    else:
        _load_pg(url, meta)
    timings["bulk_load"] = time.perf_counter() - t1
    # Tables no generated row went to that grew: the database's triggers filled them from
    # the rows that did (counts, search and key indexes), as for the create operations.
    after = _side_rows(db_url, meta)
    grown = (t for t, n in after.items() if n > before.get(t, 0) and t not in meta.counts)
    meta.filled = sorted(grown)
    t_compact = time.perf_counter()
    _compact_counts(settings)
    timings["compact_counts"] = time.perf_counter() - t_compact
    if url is not None:
        t2 = time.perf_counter()
        _vacuum_analyze(url)
        timings["vacuum_analyze"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    meta.built_at = datetime.now(UTC).isoformat(timespec="seconds")
    meta.build_s = {k: round(v, 2) for k, v in timings.items()}
    _write_meta(url or f"sqlite:///{data_dir / 'cmpapi.db'}", meta)
    return meta


def _compact_counts(settings: Any) -> None:
    """Fold the count deltas the load's triggers wrote (one per row) into one row per
    key, as the server's periodic job does within a minute (`library.compact_counts`):
    the benchmark's servers run without a job worker."""
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.resources.library import counts

    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            counts.compact(conn)
    finally:
        engine.dispose()


def _side_rows(url: str, meta: Meta) -> dict[str, int]:
    """Rows of each table a create operation writes (``meta.writes``)."""
    from sqlalchemy import create_engine, text

    names = sorted({t for tables in meta.writes.values() for t in tables})
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0)
                for t in names
            }
    finally:
        engine.dispose()


def missing_writes(meta: Meta) -> list[str]:
    """Tables a create operation writes that the generated rows leave alone (apart from
    those no list reads, and those the load's triggers fill): the builder needs updating,
    or the figures flatter the list."""
    from _all_rows import NOT_GENERATED

    out = []
    for op, tables in meta.writes.items():
        for table in tables:
            if table not in meta.counts and table not in meta.filled and table not in NOT_GENERATED:
                out.append(f"{op} writes {table}, the bench data does not")
    return out


def _write_meta(url: str, meta: Meta) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE {META_TABLE} SET value = :v WHERE key = 'meta'"),
                {"v": json.dumps(asdict(meta))},
            )
    finally:
        engine.dispose()


def _tables() -> dict[str, Any]:
    from cmpapi.server.db.base import Base

    return dict(Base.metadata.tables)


def _load_sqlite(path: Path, meta: Meta) -> None:
    """All generated rows in one transaction; no journal while building (a failed build
    is thrown away with its temp dir), WAL again at the end as cmpapi runs it."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache for index inserts
        db.execute("BEGIN")
        tables = _tables()

        def write(name: str, batch: list[dict[str, Any]]) -> None:
            columns, values = _plan(tables[name], batch[0], sqlite=True)
            sql = (
                f"INSERT INTO {name} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            db.executemany(sql, map(values, batch))

        _generate(meta, write)
        _insert_meta_sqlite(db, meta)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


def _insert_meta_sqlite(db: sqlite3.Connection, meta: Meta) -> None:
    db.execute(f"CREATE TABLE {META_TABLE} (key VARCHAR(32) PRIMARY KEY, value TEXT)")
    db.execute(f"INSERT INTO {META_TABLE} VALUES ('meta', ?)", (json.dumps(asdict(meta)),))


def _load_pg(url: str, meta: Meta) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    tables = _tables()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:  # one transaction

        def write(name: str, batch: list[dict[str, Any]]) -> None:
            columns, values = _plan(tables[name], batch[0], sqlite=False)
            with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in map(values, batch):
                    copy.write_row(row)

        _generate(meta, write)
        cur.execute(f"CREATE TABLE {META_TABLE} (key VARCHAR(32) PRIMARY KEY, value TEXT)")
        cur.execute(f"INSERT INTO {META_TABLE} VALUES ('meta', %s)", (json.dumps(asdict(meta)),))


def _vacuum_analyze(url: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _sqlite_stamp(v: datetime | None) -> str | None:
    # SQLAlchemy's storage format for SQLite DATETIME (what the ORM writes), UTC.
    if v is None:
        return None
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    return v.isoformat(" ", "microseconds")[:26]


def _sqlite_day(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


def _json(v: Any) -> str | None:
    if v is None:
        return None
    return "[]" if v == [] else json.dumps(v)  # most JSON columns hold an empty list


def _plan(
    table: Any, sample: dict[str, Any], *, sqlite: bool
) -> tuple[list[str], Callable[[dict[str, Any]], Sequence[Any]]]:
    """The columns written, and a function from a generated row to the values the column
    types bind (JSON as text; on SQLite, datetimes and dates as SQLAlchemy stores them).
    A column the generator leaves out must be nullable with no Python-side default (the
    write paths would set it): otherwise the build stops, so a new column gets a value."""
    from sqlalchemy import Date

    from cmpapi.server.db.base import PortableJSON, UTCDateTime

    columns: list[str] = []
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    for column in table.columns:
        if column.name not in sample:
            if column.nullable and column.default is None and column.server_default is None:
                continue
            raise RuntimeError(f"bench data: {table.name}.{column.name} has no generated value")
        kind = column.type
        if isinstance(kind, PortableJSON):
            conversions.append((len(columns), _json))
        elif sqlite and isinstance(kind, UTCDateTime):
            conversions.append((len(columns), _sqlite_stamp))
        elif sqlite and isinstance(kind, Date):
            conversions.append((len(columns), _sqlite_day))
        columns.append(column.name)
    unknown = set(sample) - set(columns)
    if unknown:
        raise RuntimeError(f"bench data: {table.name} has no column {sorted(unknown)}")
    get = itemgetter(*columns)

    def values(row: dict[str, Any]) -> Sequence[Any]:
        out = list(get(row)) if len(columns) > 1 else [get(row)]
        for i, convert in conversions:
            out[i] = convert(out[i])
        return out

    return columns, values


def _generate(meta: Meta, write: Callable[[str, list[dict[str, Any]]], None]) -> None:
    """Every generated row, ``CHUNK`` at a time. Each chunk is written table by table in
    the order the tables first appeared in the whole generation: parents come first
    there, so a row's parent is always written before it (PostgreSQL checks foreign keys
    row by row). Counts the rows per table."""
    import _all_rows as rows

    order: dict[str, int] = {}
    counts: dict[str, int] = {}
    for batch in _batches(rows.generate(meta), order):
        for name in sorted(batch, key=order.__getitem__):
            write(name, batch[name])
            counts[name] = counts.get(name, 0) + len(batch[name])
    meta.counts = counts


def _batches(
    items: Iterable[tuple[str, dict[str, Any]]], order: dict[str, int]
) -> Iterator[dict[str, list[Any]]]:
    batch: dict[str, list[Any]] = {}
    n = 0
    for name, row in items:
        if name not in order:
            order[name] = len(order)
        batch.setdefault(name, []).append(row)
        n += 1
        if n == CHUNK:
            yield batch
            batch, n = {}, 0
    if batch:
        yield batch


def stable_id(kind: str, n: int) -> str:
    """A deterministic 32-hex id (random-looking, like ``new_id``'s)."""
    return hashlib.md5(f"{kind}:{n}".encode(), usedforsecurity=False).hexdigest()


def rng_for(kind: str) -> random.Random:
    return random.Random(f"bench-all:{kind}")


def base_time() -> datetime:
    """A fixed clock: the data (and its counts) do not depend on when it was built."""
    return datetime(2026, 1, 1, tzinfo=UTC)


def after(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)
