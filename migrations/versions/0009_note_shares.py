"""note shares: one public link per note

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_nopad_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "note_shares",
        sa.Column("note_id", exact(26), nullable=False),
        sa.Column("token_hash", exact(64), nullable=False),
        sa.Column("sealed_token", exact(128), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=True),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"], name="fk_note_shares_note_id_notes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("note_id", name="pk_note_shares"),
        sa.UniqueConstraint("token_hash", name="uq_note_shares_token_hash"),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("note_shares")
