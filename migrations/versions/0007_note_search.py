"""notes.search_text (the folded title, content and tag names) and the indexes of the listing sorts

Adds the column, fills it for every existing note in batches (in Python: the
folding is Unicode NFKC and case folding, which no SQL of either database
spells), then makes it NOT NULL. The folding is the service's own
(note.domain.search.searchable_text), so backfilled notes and notes written
later are searched alike.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from note.domain.search import searchable_text

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
SEARCH_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(collation="utf8mb4_nopad_bin"), "mysql", "mariadb")

notes = sa.table(
    "notes",
    sa.column("id", sa.String),
    sa.column("title", sa.String),
    sa.column("content", sa.Text),
    sa.column("search_text", sa.Text),
)
tags = sa.table("tags", sa.column("id", sa.String), sa.column("name", sa.String))
note_tags = sa.table(
    "note_tags", sa.column("note_id", sa.String), sa.column("tag_id", sa.String), sa.column("position", sa.Integer)
)


def upgrade() -> None:
    op.add_column("notes", sa.Column("search_text", SEARCH_TEXT, nullable=True))
    backfill(op.get_bind())
    with op.batch_alter_table("notes") as batch:
        batch.alter_column("search_text", existing_type=SEARCH_TEXT, nullable=False)
    op.create_index("ix_notes_user_id_memo_date_id", "notes", ["user_id", "memo_date", "id"])
    op.create_index("ix_notes_user_id_updated_at_id", "notes", ["user_id", "updated_at", "id"])


def backfill(connection: sa.Connection) -> None:
    """Every note's folded text, ``BATCH`` notes at a time in id order: memory stays bounded."""
    after = ""
    while True:
        rows = connection.execute(
            sa.select(notes.c.id, notes.c.title, notes.c.content)
            .where(notes.c.id > after)
            .order_by(notes.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        names = tag_names(connection, [row.id for row in rows])
        connection.execute(
            notes.update().where(notes.c.id == sa.bindparam("note_id")).values(search_text=sa.bindparam("folded")),
            [
                {"note_id": row.id, "folded": searchable_text(title=row.title, content=row.content, tags=names[row.id])}
                for row in rows
            ],
        )
        after = rows[-1].id


def tag_names(connection: sa.Connection, note_ids: list[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = defaultdict(list)
    links = connection.execute(
        sa.select(note_tags.c.note_id, tags.c.name)
        .join(tags, tags.c.id == note_tags.c.tag_id)
        .where(note_tags.c.note_id.in_(note_ids))
        .order_by(note_tags.c.note_id, note_tags.c.position)
    )
    for note_id, name in links:
        names[note_id].append(name)
    return names


def downgrade() -> None:
    op.drop_index("ix_notes_user_id_updated_at_id", table_name="notes")
    op.drop_index("ix_notes_user_id_memo_date_id", table_name="notes")
    with op.batch_alter_table("notes") as batch:
        batch.drop_column("search_text")
