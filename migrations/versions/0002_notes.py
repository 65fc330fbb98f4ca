"""notes, per-user tags and the note-tag links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", exact(26), nullable=False),
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("content", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("memo_date", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notes_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
        **MYSQL,
    )
    op.create_index("ix_notes_user_id_created_at_id", "notes", ["user_id", "created_at", "id"])
    op.create_table(
        "tags",
        sa.Column("id", exact(26), nullable=False),
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("name", exact(32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_tags_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("user_id", "name", name="uq_tags_user_id_name"),
        **MYSQL,
    )
    op.create_table(
        "note_tags",
        sa.Column("note_id", exact(26), nullable=False),
        sa.Column("tag_id", exact(26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"], name="fk_note_tags_note_id_notes", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name="fk_note_tags_tag_id_tags", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("note_id", "tag_id", name="pk_note_tags"),
        **MYSQL,
    )
    op.create_index("ix_note_tags_tag_id_note_id", "note_tags", ["tag_id", "note_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop one a foreign key needs).
    op.drop_table("note_tags")
    op.drop_table("tags")
    op.drop_table("notes")
