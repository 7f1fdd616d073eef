"""Alembic environment: uses the engine handed over by ``cmpapi.server.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cmpapi.server.db.search import outside_models
from cmpapi.server.db.tables import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
        include_object=outside_models,
    )
    with context.begin_transaction():
        context.run_migrations()
