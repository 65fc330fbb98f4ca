"""exact ids: byte-for-byte columns no longer ignore trailing spaces (MariaDB)

``utf8mb4_bin`` is a PAD SPACE collation: ``'01J…X '`` equals ``'01J…X'``,
so ``GET /notes/<id>%20`` found the note. ``utf8mb4_nopad_bin`` compares
every byte, trailing spaces included. SQLite already compares exactly:
nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length, nullable): every column of database.types.exact_string.
EXACT_COLUMNS = [
    ("users", "id", 26, False),
    ("users", "email_key", 254, False),
    ("login_throttles", "email_key", 254, False),
    ("notes", "id", 26, False),
    ("notes", "user_id", 26, False),
    ("tags", "id", 26, False),
    ("tags", "user_id", 26, False),
    ("tags", "name", 32, False),
    ("note_tags", "note_id", 26, False),
    ("note_tags", "tag_id", 26, False),
    ("outbox_emails", "id", 26, False),
    ("outbox_emails", "claimed_by", 64, True),
    ("outbox_emails", "dedupe_key", 191, True),
]

# (name, table, column, parent, parent column): every foreign key between those columns.
FOREIGN_KEYS = [
    ("fk_notes_user_id_users", "notes", "user_id", "users", "id"),
    ("fk_tags_user_id_users", "tags", "user_id", "users", "id"),
    ("fk_note_tags_note_id_notes", "note_tags", "note_id", "notes", "id"),
    ("fk_note_tags_tag_id_tags", "note_tags", "tag_id", "tags", "id"),
]


def upgrade() -> None:
    _collate("utf8mb4_nopad_bin")


def downgrade() -> None:
    _collate("utf8mb4_bin")


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    # A column a foreign key joins cannot change collation (error 1833, even with
    # foreign_key_checks off): the keys go, the columns change, the keys come back.
    for name, table, _, _, _ in FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    for table, column, length, nullable in EXACT_COLUMNS:
        op.alter_column(
            table,
            column,
            existing_type=mysql.VARCHAR(length),
            type_=mysql.VARCHAR(length, collation=collation),
            existing_nullable=nullable,
            nullable=nullable,
        )
    for name, table, column, parent, parent_column in FOREIGN_KEYS:
        op.create_foreign_key(name, table, parent, [column], [parent_column], ondelete="CASCADE")
