"""Migrations create exactly the tables the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from cmpapi.server.db.search import outside_models
from cmpapi.server.db.tables import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": outside_models}
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a revision: {diff}"


def test_history_is_linear_and_reversible(tmp_path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from cmpapi.server.db.migrate import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config(engine)
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1, "merge the migration heads"
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    engine.dispose()


def test_the_triggers_behind_counts_and_search_exist_at_head(database_url: str) -> None:
    """A batch migration that recreates one of these tables on SQLite drops its triggers:
    the counts (library/counts.py), the title search (db/search.py) and the asset keys
    (library/keyed.py) would go stale."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars()
            )
            expected = {
                f"{t}_counted_{e}"
                for t in ("library_assets", "library_asset_labels")
                for e in ("insert", "delete", "update")
            }
            expected |= {
                f"{t}_search_{e}"
                for t in ("library_assets", "tasks")
                for e in ("insert", "delete", "update")
            }
            expected |= {
                f"library_assets_keyed_{e}" for e in ("insert", "delete", "move", "modified")
            }
            expected |= {
                f"{t}_keyed_{e}"
                for t in ("library_acl", "field_values")
                for e in ("insert", "delete", "update")
            }
            expected.add("library_folders_keyed_path")
        else:
            names = set(
                conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                ).scalars()
            )
            names |= set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes").scalars())
            expected = {
                f"{t}_counted{s}"
                for t in ("library_assets", "library_asset_labels")
                for s in ("", "_update")
            }
            expected |= {f"ix_{t}_title_trgm" for t in ("library_assets", "tasks")}
            expected |= {
                f"{t}_keyed"
                for t in ("library_assets", "library_folders", "library_acl", "field_values")
            }
    engine.dispose()
    assert expected <= names, expected - names


def test_heads_read_from_the_files_are_alembics(tmp_path) -> None:
    """``migrate.heads`` reads the revision files without Alembic (server start-up); it
    must find what Alembic finds, and ``upgrade`` must skip nothing it should run."""
    from alembic.script import ScriptDirectory

    from cmpapi.server.db import migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = migrate.alembic_config(engine)
    assert migrate.heads() == frozenset(ScriptDirectory.from_config(cfg).get_heads())
    assert not migrate.at_head(engine)  # a new database
    migrate.upgrade(engine)
    assert migrate.at_head(engine)
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.heads()
    engine.dispose()


def test_a_start_at_head_imports_no_alembic(tmp_path) -> None:
    """What every `serve` and `worker` start does on a migrated database: one query, and
    Alembic (~90 ms of imports) left alone."""
    import subprocess
    import sys

    from cmpapi.server.db import migrate

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    code = (
        "import sys; from sqlalchemy import create_engine; "
        "from cmpapi.server.db import migrate; from cmpapi.server.observability import health; "
        f"migrate.upgrade(create_engine({url!r})); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
