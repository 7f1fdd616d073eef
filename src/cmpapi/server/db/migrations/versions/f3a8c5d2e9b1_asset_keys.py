# ruff: noqa: S608  (every statement is built from the constants below, never from input)
"""asset keys (folder ancestors, ACL entries, short field values) carrying the asset's
modified_at, kept by triggers, for listAssets pages in order; one folder's assets by date

Revision ID: f3a8c5d2e9b1
Revises: b3f8d1e6a2c4
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmpapi.server.db.base

revision = "f3a8c5d2e9b1"
down_revision = "b3f8d1e6a2c4"
branch_labels = None
depends_on = None

SHORT = 64  # the longest field value with a key (counts.SHORT, library_counts.sub)
KEYS = "library_asset_keys"
COLUMNS = f"INSERT INTO {KEYS} (asset_id, kind, key, sub, modified_at)"


def _ancestors(path: str, postgresql: bool) -> str:
    """A FROM item of the folder ids in a materialised path ``/a/b/c/`` (column
    ``anc.value``). Folder ids are generated hex, so the path splits into a JSON array by
    replacing its slashes (SQLite has no split function, and no WITH clause in triggers)."""
    if postgresql:
        return f"unnest(string_to_array(trim(both '/' from {path}), '/')) AS anc(value)"
    inner = f"substr({path}, 2, length({path}) - 2)"
    return f"""json_each('["' || replace({inner}, '/', '","') || '"]') AS anc"""


def _terms(values: str, postgresql: bool) -> tuple[str, str, str]:
    """(FROM item, text of the element, condition) for the short text elements of a field
    value list: the values a ``fields`` filter matches and ``library_counts`` counts."""
    if postgresql:
        text = "e.value #>> '{}'"
        return (
            f"jsonb_array_elements({values}) AS e",
            text,
            f"jsonb_typeof(e.value) = 'string' AND length({text}) <= {SHORT}",
        )
    return f"json_each({values}) AS e", "e.value", f"e.type = 'text' AND length(e.value) <= {SHORT}"


def _ignore(postgresql: bool) -> tuple[str, str]:
    """(INSERT prefix, suffix) that skip a row already there: identical by construction."""
    if postgresql:
        return COLUMNS, " ON CONFLICT DO NOTHING"
    return COLUMNS.replace("INSERT", "INSERT OR IGNORE"), ""


def _asset_folders(pg: bool) -> str:
    """The folder keys of the asset NEW: its folder and every folder above it."""
    into, tail = _ignore(pg)
    return (
        f"{into} SELECT NEW.id, 'folder', anc.value, '', NEW.modified_at"
        f" FROM library_folders f, {_ancestors('f.id_path', pg)} WHERE f.id = NEW.folder_id{tail}"
    )


def _asset_insert(pg: bool) -> list[str]:
    """On a new asset: its folders, and the ACL entries and field values already written
    (a bulk load may write them first)."""
    into, tail = _ignore(pg)
    frm, text, short = _terms("v.value", pg)
    return [
        _asset_folders(pg),
        f"{into} SELECT NEW.id, 'grant', g.accessor_id, g.accessor_type, NEW.modified_at"
        f" FROM library_acl g WHERE g.resource_type = 'asset' AND g.resource_id = NEW.id{tail}",
        f"{into} SELECT DISTINCT NEW.id, 'field', v.field_id, {text}, NEW.modified_at"
        f" FROM field_values v, {frm} WHERE v.owner_type = 'asset' AND v.owner_id = NEW.id"
        f" AND {short}{tail}",
    ]


def _asset_moved(pg: bool) -> list[str]:
    return [f"DELETE FROM {KEYS} WHERE asset_id = NEW.id AND kind = 'folder'", _asset_folders(pg)]


FOLLOW = f"UPDATE {KEYS} SET modified_at = NEW.modified_at WHERE asset_id = NEW.id"
FORGET_ASSET = f"DELETE FROM {KEYS} WHERE asset_id = OLD.id"


def _folder_moved(pg: bool) -> list[str]:
    """A folder's path changed (it or a folder above it moved): its own assets lose the
    folders above that are no longer above, and gain the new ones (those inside the moved
    subtree stay). Moving a subtree updates each folder of it, so each does its own
    assets: a move of 20,000 assets rewrites their keys, seconds on SQLite."""
    into, tail = _ignore(pg)
    assets = "library_assets a WHERE a.org_id = NEW.org_id AND a.folder_id = NEW.id"

    def only(path: str, other: str) -> str:  # the ids of one path not in the other
        return (
            f"SELECT anc.value FROM {_ancestors(path, pg)}"
            f" EXCEPT SELECT anc.value FROM {_ancestors(other, pg)}"
        )

    lost = only("OLD.id_path", "NEW.id_path")
    return [
        f"DELETE FROM {KEYS} WHERE kind = 'folder' AND key IN ({lost})"
        f" AND asset_id IN (SELECT a.id FROM {assets})",
        f"{into} SELECT a.id, 'folder', gained.value, '', a.modified_at"
        f" FROM ({only('NEW.id_path', 'OLD.id_path')}) AS gained, {assets}{tail}",
    ]


def _grant_added(pg: bool) -> str:
    into, tail = _ignore(pg)
    return (
        f"{into} SELECT a.id, 'grant', NEW.accessor_id, NEW.accessor_type, a.modified_at"
        f" FROM library_assets a WHERE NEW.resource_type = 'asset' AND a.id = NEW.resource_id"
        f"{tail}"
    )


GRANT_REMOVED = (
    f"DELETE FROM {KEYS} WHERE OLD.resource_type = 'asset' AND asset_id = OLD.resource_id"
    " AND kind = 'grant' AND key = OLD.accessor_id AND sub = OLD.accessor_type"
)


def _values_added(pg: bool) -> str:
    into, tail = _ignore(pg)
    frm, text, short = _terms("NEW.value", pg)
    return (
        f"{into} SELECT DISTINCT a.id, 'field', NEW.field_id, {text}, a.modified_at"
        f" FROM library_assets a, {frm} WHERE NEW.owner_type = 'asset' AND a.id = NEW.owner_id"
        f" AND {short}{tail}"
    )


VALUES_REMOVED = (
    f"DELETE FROM {KEYS} WHERE OLD.owner_type = 'asset' AND asset_id = OLD.owner_id"
    " AND kind = 'field' AND key = OLD.field_id"
)


def _fill(pg: bool) -> list[str]:
    """The keys of the assets already there (the triggers keep them from now on)."""
    frm, text, short = _terms("v.value", pg)
    return [
        f"{COLUMNS} SELECT a.id, 'folder', anc.value, '', a.modified_at"
        f" FROM library_assets a JOIN library_folders f ON f.id = a.folder_id,"
        f" {_ancestors('f.id_path', pg)}",
        f"{COLUMNS} SELECT a.id, 'grant', g.accessor_id, g.accessor_type, a.modified_at"
        " FROM library_acl g JOIN library_assets a ON a.id = g.resource_id"
        " WHERE g.resource_type = 'asset'",
        f"{COLUMNS} SELECT DISTINCT a.id, 'field', v.field_id, {text}, a.modified_at"
        f" FROM field_values v JOIN library_assets a ON a.id = v.owner_id, {frm}"
        f" WHERE v.owner_type = 'asset' AND {short}",
    ]


def _sqlite_triggers() -> None:
    def trigger(name: str, when: str, statements: list[str], condition: str = "") -> None:
        body = "; ".join(statements)
        cond = f" WHEN {condition}" if condition else ""
        op.execute(f"CREATE TRIGGER {name} {when}{cond} BEGIN {body}; END")

    trigger("library_assets_keyed_insert", "AFTER INSERT ON library_assets", _asset_insert(False))
    trigger("library_assets_keyed_delete", "AFTER DELETE ON library_assets", [FORGET_ASSET])
    trigger(
        "library_assets_keyed_move",
        "AFTER UPDATE OF folder_id ON library_assets",
        _asset_moved(False),
        "OLD.folder_id IS NOT NEW.folder_id",
    )
    trigger(
        "library_assets_keyed_modified",
        "AFTER UPDATE OF modified_at ON library_assets",
        [FOLLOW],
        "OLD.modified_at IS NOT NEW.modified_at",
    )
    trigger(
        "library_folders_keyed_path",
        "AFTER UPDATE OF id_path ON library_folders",
        _folder_moved(False),
        "OLD.id_path IS NOT NEW.id_path",
    )
    trigger("library_acl_keyed_insert", "AFTER INSERT ON library_acl", [_grant_added(False)])
    trigger("library_acl_keyed_delete", "AFTER DELETE ON library_acl", [GRANT_REMOVED])
    trigger(
        "library_acl_keyed_update",
        "AFTER UPDATE OF resource_type, resource_id, accessor_type, accessor_id ON library_acl",
        [GRANT_REMOVED, _grant_added(False)],
    )
    trigger("field_values_keyed_insert", "AFTER INSERT ON field_values", [_values_added(False)])
    trigger("field_values_keyed_delete", "AFTER DELETE ON field_values", [VALUES_REMOVED])
    trigger(
        "field_values_keyed_update",
        "AFTER UPDATE OF value, owner_type, owner_id, field_id ON field_values",
        [VALUES_REMOVED, _values_added(False)],
    )


def _postgresql_function(name: str, body: str) -> None:
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}"
        " RETURN NULL; END $$"
    )


def _postgresql_triggers() -> None:
    def block(statements: list[str]) -> str:
        return " ".join(f"{s};" for s in statements)

    _postgresql_function(
        "library_assets_keyed",
        f"IF TG_OP = 'INSERT' THEN {block(_asset_insert(True))}"
        f" ELSIF TG_OP = 'DELETE' THEN {FORGET_ASSET};"
        " ELSE IF OLD.folder_id IS DISTINCT FROM NEW.folder_id THEN"
        f" {block(_asset_moved(True))} END IF;"
        f" IF OLD.modified_at IS DISTINCT FROM NEW.modified_at THEN {FOLLOW}; END IF;"
        " END IF;",
    )
    op.execute(
        "CREATE TRIGGER library_assets_keyed AFTER INSERT OR DELETE"
        " OR UPDATE OF folder_id, modified_at ON library_assets"
        " FOR EACH ROW EXECUTE FUNCTION library_assets_keyed()"
    )
    _postgresql_function(
        "library_folders_keyed",
        f"IF OLD.id_path IS DISTINCT FROM NEW.id_path THEN {block(_folder_moved(True))} END IF;",
    )
    op.execute(
        "CREATE TRIGGER library_folders_keyed AFTER UPDATE OF id_path ON library_folders"
        " FOR EACH ROW EXECUTE FUNCTION library_folders_keyed()"
    )
    for table, added, removed, columns in (
        (
            "library_acl",
            _grant_added(True),
            GRANT_REMOVED,
            "resource_type, resource_id, accessor_type, accessor_id",
        ),
        (
            "field_values",
            _values_added(True),
            VALUES_REMOVED,
            "value, owner_type, owner_id, field_id",
        ),
    ):
        _postgresql_function(
            f"{table}_keyed",
            f"IF TG_OP <> 'INSERT' THEN {removed}; END IF;"
            f" IF TG_OP <> 'DELETE' THEN {added}; END IF;",
        )
        op.execute(
            f"CREATE TRIGGER {table}_keyed AFTER INSERT OR DELETE OR UPDATE OF {columns}"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_keyed()"
        )


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_library_assets_org_folder", table_name="library_assets")
    op.create_index(
        "ix_library_assets_org_folder_modified",
        "library_assets",
        ["org_id", "folder_id", "modified_at", "id"],
    )
    op.create_table(
        KEYS,
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("asset_id", "kind", "key", "sub", name=op.f(f"pk_{KEYS}")),
        sqlite_with_rowid=False,  # the primary key's b-tree holds the rows: one copy less
    )
    for statement in _fill(pg):
        op.execute(statement)
    # After the fill: one sort instead of an index insert per row.
    op.create_index(
        "ix_library_asset_keys_walk", KEYS, ["kind", "key", "sub", "modified_at", "asset_id"]
    )
    if pg:
        _postgresql_triggers()
    else:
        _sqlite_triggers()


SQLITE_TRIGGERS = (
    "library_assets_keyed_insert",
    "library_assets_keyed_delete",
    "library_assets_keyed_move",
    "library_assets_keyed_modified",
    "library_folders_keyed_path",
    "library_acl_keyed_insert",
    "library_acl_keyed_delete",
    "library_acl_keyed_update",
    "field_values_keyed_insert",
    "field_values_keyed_delete",
    "field_values_keyed_update",
)
POSTGRESQL_TRIGGERS = ("library_assets", "library_folders", "library_acl", "field_values")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {table}_keyed ON {table}")
            op.execute(f"DROP FUNCTION {table}_keyed()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_library_asset_keys_walk", table_name=KEYS)
    op.drop_table(KEYS)
    op.drop_index("ix_library_assets_org_folder_modified", table_name="library_assets")
    op.create_index("ix_library_assets_org_folder", "library_assets", ["org_id", "folder_id"])
