"""shared sub-resources: comments, attachments, briefs of any parent

Revision ID: 1765f200ea3b
Revises: f710b4ee02ae
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmpapi.server.db.base

revision = "1765f200ea3b"
down_revision = "f710b4ee02ae"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "briefs",
        sa.Column("owner_type", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("template_name", sa.String(length=255), nullable=True),
        sa.Column("fields", cmpapi.server.db.base.PortableJSON(), nullable=False),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_briefs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_type", "owner_id", name=op.f("pk_briefs")),
    )
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_briefs_org_id"), ["org_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_type", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("mime_type", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("source_type", sa.String(length=32), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_attachments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_attachments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_attachments_owner_created",
            ["owner_type", "owner_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_attachments_source", ["source_type", "source_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_type", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("scope_id", sa.String(length=32), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("is_resolved", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_comments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_comments_owner_scope_created",
            ["owner_type", "owner_id", "scope_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_comments_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "comment_attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("comment_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("mime_type", sa.String(length=255), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", cmpapi.server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_comment_attachments_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_comment_attachments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_attachments")),
    )
    with op.batch_alter_table("comment_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_comment_attachments_comment_id"), ["comment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comment_attachments_org_id"), ["org_id"], unique=False)

    # Tasks were the only parent: their rows move over as owner_type "task".
    op.execute(
        "INSERT INTO briefs (owner_type, owner_id, type, title, template_id, template_name,"
        " fields, created_at, modified_at, org_id) SELECT 'task', task_id, type, title,"
        " template_id, template_name, fields, created_at, modified_at, org_id FROM task_briefs"
    )
    op.execute(
        "INSERT INTO attachments (id, owner_type, owner_id, kind, name, url, storage_key,"
        " mime_type, size, source_type, source_id, created_by, created_at, org_id)"
        " SELECT id, 'task', task_id, kind, name, url, storage_key, mime_type, size,"
        " source_type, source_id, created_by, created_at, org_id FROM task_attachments"
    )
    op.execute(
        "INSERT INTO comments (id, owner_type, owner_id, scope_id, parent_id, value,"
        " is_resolved, author_id, created_at, modified_at, org_id) SELECT id, 'task', task_id,"
        " sub_step_id, parent_id, value, is_resolved, author_id, created_at, modified_at,"
        " org_id FROM task_comments"
    )
    op.execute(
        "INSERT INTO comment_attachments (id, comment_id, position, name, storage_key,"
        " mime_type, file_size, created_at, org_id) SELECT id, comment_id, position, name,"
        " storage_key, mime_type, file_size, created_at, org_id FROM task_comment_attachments"
    )

    with op.batch_alter_table("task_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_attachments_org_id"))
        batch_op.drop_index(batch_op.f("ix_task_attachments_source"))
        batch_op.drop_index(batch_op.f("ix_task_attachments_task_created"))

    op.drop_table("task_attachments")
    with op.batch_alter_table("task_comment_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_comment_attachments_comment_id"))
        batch_op.drop_index(batch_op.f("ix_task_comment_attachments_org_id"))

    op.drop_table("task_comment_attachments")
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_comments_org_id"))
        batch_op.drop_index(batch_op.f("ix_task_comments_parent_id"))
        batch_op.drop_index(batch_op.f("ix_task_comments_sub_step_created"))
        batch_op.drop_index(batch_op.f("ix_task_comments_task_id"))

    op.drop_table("task_comments")
    with op.batch_alter_table("task_briefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_briefs_org_id"))

    op.drop_table("task_briefs")


def downgrade() -> None:
    op.create_table(
        "task_briefs",
        sa.Column("task_id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("type", sa.VARCHAR(length=16), nullable=False),
        sa.Column("title", sa.VARCHAR(length=500), nullable=False),
        sa.Column("template_id", sa.VARCHAR(length=64), nullable=True),
        sa.Column("template_name", sa.VARCHAR(length=255), nullable=True),
        sa.Column("fields", cmpapi.server.db.base.PortableJSON(), nullable=False),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("modified_at", sa.DATETIME(), nullable=False),
        sa.Column("org_id", sa.VARCHAR(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_task_briefs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_briefs_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_briefs")),
    )
    with op.batch_alter_table("task_briefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_briefs_org_id"), ["org_id"], unique=False)

    op.create_table(
        "task_comments",
        sa.Column("id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("task_id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("sub_step_id", sa.VARCHAR(length=32), nullable=True),
        sa.Column("parent_id", sa.VARCHAR(length=32), nullable=True),
        sa.Column("value", sa.TEXT(), nullable=False),
        sa.Column("is_resolved", sa.BOOLEAN(), nullable=False),
        sa.Column("author_id", sa.VARCHAR(length=32), nullable=True),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("modified_at", sa.DATETIME(), nullable=False),
        sa.Column("org_id", sa.VARCHAR(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_task_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_task_comments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["task_comments.id"],
            name=op.f("fk_task_comments_parent_id_task_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sub_step_id"],
            ["task_sub_steps.id"],
            name=op.f("fk_task_comments_sub_step_id_task_sub_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_comments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_comments_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_task_comments_sub_step_created"),
            ["sub_step_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_task_comments_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_comments_org_id"), ["org_id"], unique=False)

    op.create_table(
        "task_comment_attachments",
        sa.Column("id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("comment_id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("position", sa.INTEGER(), nullable=False),
        sa.Column("name", sa.VARCHAR(length=255), nullable=False),
        sa.Column("storage_key", sa.VARCHAR(length=100), nullable=False),
        sa.Column("mime_type", sa.VARCHAR(length=255), nullable=False),
        sa.Column("file_size", sa.BIGINT(), nullable=False),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("org_id", sa.VARCHAR(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["task_comments.id"],
            name=op.f("fk_task_comment_attachments_comment_id_task_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_task_comment_attachments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comment_attachments")),
    )
    with op.batch_alter_table("task_comment_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_comment_attachments_org_id"), ["org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_task_comment_attachments_comment_id"), ["comment_id"], unique=False
        )

    op.create_table(
        "task_attachments",
        sa.Column("id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("task_id", sa.VARCHAR(length=32), nullable=False),
        sa.Column("kind", sa.VARCHAR(length=8), nullable=False),
        sa.Column("name", sa.VARCHAR(length=255), nullable=False),
        sa.Column("url", sa.VARCHAR(length=2048), nullable=True),
        sa.Column("storage_key", sa.VARCHAR(length=255), nullable=True),
        sa.Column("mime_type", sa.VARCHAR(length=255), nullable=True),
        sa.Column("size", sa.BIGINT(), nullable=True),
        sa.Column("source_type", sa.VARCHAR(length=32), nullable=True),
        sa.Column("source_id", sa.VARCHAR(length=64), nullable=True),
        sa.Column("created_by", sa.VARCHAR(length=32), nullable=True),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("org_id", sa.VARCHAR(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_task_attachments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_task_attachments_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_attachments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_attachments")),
    )
    with op.batch_alter_table("task_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_attachments_task_created"),
            ["task_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_task_attachments_source"), ["source_type", "source_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_task_attachments_org_id"), ["org_id"], unique=False)

    op.execute(
        "INSERT INTO task_briefs (task_id, type, title, template_id, template_name, fields,"
        " created_at, modified_at, org_id) SELECT owner_id, type, title, template_id,"
        " template_name, fields, created_at, modified_at, org_id FROM briefs"
        " WHERE owner_type = 'task'"
    )
    op.execute(
        "INSERT INTO task_attachments (id, task_id, kind, name, url, storage_key, mime_type,"
        " size, source_type, source_id, created_by, created_at, org_id) SELECT id, owner_id,"
        " kind, name, url, storage_key, mime_type, size, source_type, source_id, created_by,"
        " created_at, org_id FROM attachments WHERE owner_type = 'task'"
    )
    op.execute(
        "INSERT INTO task_comments (id, task_id, sub_step_id, parent_id, value, is_resolved,"
        " author_id, created_at, modified_at, org_id) SELECT id, owner_id, scope_id, parent_id,"
        " value, is_resolved, author_id, created_at, modified_at, org_id FROM comments"
        " WHERE owner_type = 'task'"
    )
    op.execute(
        "INSERT INTO task_comment_attachments (id, comment_id, position, name, storage_key,"
        " mime_type, file_size, created_at, org_id) SELECT a.id, a.comment_id, a.position,"
        " a.name, a.storage_key, a.mime_type, a.file_size, a.created_at, a.org_id"
        " FROM comment_attachments a JOIN comments c ON c.id = a.comment_id"
        " WHERE c.owner_type = 'task'"
    )

    with op.batch_alter_table("comment_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_attachments_org_id"))
        batch_op.drop_index(batch_op.f("ix_comment_attachments_comment_id"))

    op.drop_table("comment_attachments")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_parent_id"))
        batch_op.drop_index("ix_comments_owner_scope_created")
        batch_op.drop_index(batch_op.f("ix_comments_org_id"))

    op.drop_table("comments")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_source")
        batch_op.drop_index("ix_attachments_owner_created")
        batch_op.drop_index(batch_op.f("ix_attachments_org_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_briefs_org_id"))

    op.drop_table("briefs")
