"""note_tags.note_created_at: a tag's notes are read newest first from one index

A copy of the note's ``created_at``, which never changes, on each of its tag
links, and the index ``(tag_id, note_created_at, note_id)`` in place of
``(tag_id, note_id)``: a page of ``GET /notes/tags/{name}`` reads the tag's
newest links in index order and stops at the page's end, where it read every
note carrying the tag and sorted them. Existing links are filled in from their
notes by one ``UPDATE``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_INDEX = "ix_note_tags_tag_id_note_created_at_note_id"
OLD_INDEX = "ix_note_tags_tag_id_note_id"

notes = sa.table("notes", sa.column("id", sa.String), sa.column("created_at", sa.DateTime))
note_tags = sa.table("note_tags", sa.column("note_id", sa.String), sa.column("note_created_at", sa.DateTime))


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("note_tags", sa.Column("note_created_at", timestamp(), nullable=True))
    op.execute(
        note_tags.update().values(
            note_created_at=sa.select(notes.c.created_at).where(notes.c.id == note_tags.c.note_id).scalar_subquery()
        )
    )
    with op.batch_alter_table("note_tags") as batch:
        batch.alter_column("note_created_at", existing_type=timestamp(), nullable=False)
    # The new index first: on MariaDB it takes over the tag_id foreign key's index before the old one goes.
    op.create_index(NEW_INDEX, "note_tags", ["tag_id", "note_created_at", "note_id"])
    op.drop_index(OLD_INDEX, table_name="note_tags")


def downgrade() -> None:
    op.create_index(OLD_INDEX, "note_tags", ["tag_id", "note_id"])
    op.drop_index(NEW_INDEX, table_name="note_tags")
    with op.batch_alter_table("note_tags") as batch:
        batch.drop_column("note_created_at")
