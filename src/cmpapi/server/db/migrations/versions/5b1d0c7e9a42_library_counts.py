"""library counts kept by triggers; list-page indexes (folder and type covered, ACL by accessor)

Revision ID: 5b1d0c7e9a42
Revises: 4e807dfaa1cd
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b1d0c7e9a42"
down_revision = "4e807dfaa1cd"
branch_labels = None
depends_on = None

SHORT = 64  # longest field value counted (library_counts.sub)

# (trigger table, kind, org expression, key expression, sub expression, watched columns)
_SOURCES = (
    (
        "library_assets",
        "asset",
        "{r}.org_id",
        "COALESCE({r}.folder_id, '')",
        "{r}.type",
        ("org_id", "folder_id", "type"),
    ),
    ("library_asset_labels", "label", "''", "{r}.value_id", "''", ("value_id",)),
)


def _delta(kind: str, org: str, key: str, sub: str, row: str, n: int) -> str:
    # Built only from the constants above, never from input.
    values = ", ".join(part.format(r=row) for part in (org, key, sub))
    columns = "kind, org_id, key, sub, n"
    return f"INSERT INTO library_counts ({columns}) VALUES ('{kind}', {values}, {n})"  # noqa: S608


def _changed(columns: tuple[str, ...], differs: str) -> str:
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in columns)


def _field_terms(source: str, postgresql: bool | None = None) -> str:
    """The distinct short text values of asset field values in ``source`` (a table or
    NEW/OLD), as (field_id, value) rows: what a ``fields`` filter matches. Longer values
    and file objects are not counted; counts.total counts the rows for them."""
    if postgresql is None:
        postgresql = op.get_bind().dialect.name == "postgresql"
    where = f"{source}.owner_type = 'asset'"
    table = "" if source in ("NEW", "OLD") else f"{source}, "
    columns = f"DISTINCT {source}.owner_id, {source}.field_id"  # a value once per asset
    if postgresql:
        elements = f"{table}jsonb_array_elements({source}.value) e"
        return (
            f"SELECT {columns}, e #>> '{{}}' AS value FROM {elements}"  # noqa: S608
            f" WHERE {where} AND jsonb_typeof(e) = 'string' AND length(e #>> '{{}}') <= {SHORT}"
        )
    elements = f"{table}json_each({source}.value) e"
    return (
        f"SELECT {columns}, e.value AS value FROM {elements}"  # noqa: S608
        f" WHERE {where} AND e.type = 'text' AND length(e.value) <= {SHORT}"
    )


def _field_delta(source: str, n: int, postgresql: bool) -> str:
    terms = _field_terms(source, postgresql)
    return (
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"  # noqa: S608
        f" SELECT 'field', '', field_id, value, {n} FROM ({terms}) terms"
    )


def _sqlite_triggers() -> None:
    for table, kind, org, key, sub, columns in _SOURCES:
        plus = _delta(kind, org, key, sub, "NEW", 1)
        minus = _delta(kind, org, key, sub, "OLD", -1)
        for event, body in (("insert", plus), ("delete", minus)):
            op.execute(
                f"CREATE TRIGGER {table}_counted_{event} AFTER {event.upper()} ON {table}"
                f" BEGIN {body}; END"
            )
        op.execute(
            f"CREATE TRIGGER {table}_counted_update AFTER UPDATE OF {', '.join(columns)} ON {table}"
            f" WHEN {_changed(columns, 'IS NOT')} BEGIN {minus}; {plus}; END"
        )


def _sqlite_field_triggers() -> None:
    plus, minus = _field_delta("NEW", 1, False), _field_delta("OLD", -1, False)
    for event, body in (("insert", plus), ("delete", minus)):
        op.execute(
            f"CREATE TRIGGER field_values_counted_{event} AFTER {event.upper()} ON field_values"
            f" BEGIN {body}; END"
        )
    op.execute(
        "CREATE TRIGGER field_values_counted_update AFTER UPDATE OF value, owner_type, field_id"
        f" ON field_values BEGIN {minus}; {plus}; END"
    )


def _postgresql_field_triggers() -> None:
    plus, minus = _field_delta("NEW", 1, True), _field_delta("OLD", -1, True)
    op.execute(
        "CREATE FUNCTION field_values_counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {minus}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {plus}; END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER field_values_counted AFTER INSERT OR DELETE"
        " OR UPDATE OF value, owner_type, field_id ON field_values"
        " FOR EACH ROW EXECUTE FUNCTION field_values_counted()"
    )


def _postgresql_triggers() -> None:
    for table, kind, org, key, sub, columns in _SOURCES:
        plus = _delta(kind, org, key, sub, "NEW", 1)
        minus = _delta(kind, org, key, sub, "OLD", -1)
        op.execute(
            f"CREATE FUNCTION {table}_counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {minus}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN {plus}; END IF; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_counted AFTER INSERT OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {table}_counted()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_counted_update AFTER UPDATE OF {', '.join(columns)} ON {table}"
            f" FOR EACH ROW WHEN ({_changed(columns, 'IS DISTINCT FROM')})"
            f" EXECUTE FUNCTION {table}_counted()"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_library_folders_id_path", table_name="library_folders")
        op.create_index(
            "ix_library_folders_id_path",
            "library_folders",
            ["id_path"],
            postgresql_ops={"id_path": "varchar_pattern_ops"},
        )
    op.drop_index("ix_library_assets_type", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_type_modified",
        "library_assets",
        ["org_id", "type", "modified_at", "id"],
    )
    op.drop_index("ix_library_acl_accessor_id", table_name="library_acl")
    op.create_index(
        "ix_library_acl_accessor", "library_acl", ["accessor_id", "resource_type", "resource_id"]
    )
    op.drop_index("ix_library_assets_org_modified", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_modified",
        "library_assets",
        ["org_id", "modified_at", "id", "folder_id", "type"],
    )
    op.create_table(
        "library_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_counts")),
    )
    op.create_index(
        "ix_library_counts_key", "library_counts", ["kind", "org_id", "key", "sub", "n"]
    )
    op.execute(
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"
        " SELECT 'asset', org_id, COALESCE(folder_id, ''), type, count(*) FROM library_assets"
        " GROUP BY org_id, COALESCE(folder_id, ''), type"
    )
    op.execute(
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"
        " SELECT 'label', '', value_id, '', count(*) FROM library_asset_labels GROUP BY value_id"
    )
    terms = _field_terms("field_values")
    op.execute(
        "INSERT INTO library_counts (kind, org_id, key, sub, n)"  # noqa: S608
        f" SELECT 'field', '', field_id, value, count(*) FROM ({terms}) terms"
        " GROUP BY field_id, value"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
        _postgresql_field_triggers()
    else:
        _sqlite_triggers()
        _sqlite_field_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_library_folders_id_path", table_name="library_folders")
        op.create_index("ix_library_folders_id_path", "library_folders", ["id_path"])
    op.drop_index("ix_library_assets_org_type_modified", table_name="library_assets")
    op.create_index("ix_library_assets_type", "library_assets", ["type"])
    op.drop_index("ix_library_assets_org_modified", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_modified", "library_assets", ["org_id", "modified_at", "id"]
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER field_values_counted ON field_values")
        op.execute("DROP FUNCTION field_values_counted()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER field_values_counted_{event}")
    for table, *_ in _SOURCES:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_counted ON {table}")
            op.execute(f"DROP TRIGGER {table}_counted_update ON {table}")
            op.execute(f"DROP FUNCTION {table}_counted()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_counted_{event}")
    op.drop_index("ix_library_counts_key", table_name="library_counts")
    op.drop_table("library_counts")
    op.drop_index("ix_library_acl_accessor", table_name="library_acl")
    op.create_index("ix_library_acl_accessor_id", "library_acl", ["accessor_id"])
