"""the ids that imports brought in, per user (SPEC §12: importing a file twice creates nothing new)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_nopad_bin"), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "note_imports",
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("source_digest", exact(64), nullable=False),
        sa.Column("note_id", exact(26), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_note_imports_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"], name="fk_note_imports_note_id_notes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "source_digest", name="pk_note_imports"),
        **MYSQL,
    )
    op.create_index("ix_note_imports_note_id", "note_imports", ["note_id"])


def downgrade() -> None:
    op.drop_table("note_imports")
