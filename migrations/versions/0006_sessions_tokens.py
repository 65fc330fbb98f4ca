"""sessions you can end (revoked login tokens) and personal access tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_nopad_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", exact(64), nullable=False),
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_revoked_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("jti", name="pk_revoked_tokens"),
        **MYSQL,
    )
    op.create_index("ix_revoked_tokens_user_id", "revoked_tokens", ["user_id"])
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "personal_tokens",
        sa.Column("id", exact(26), nullable=False),
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", exact(64), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=True),
        sa.Column("last_used_at", timestamp(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_personal_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_personal_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_personal_tokens_token_hash"),
        **MYSQL,
    )
    op.create_index("ix_personal_tokens_user_id_created_at", "personal_tokens", ["user_id", "created_at"])


def downgrade() -> None:
    # The indexes go with their tables (MariaDB refuses to drop one that a foreign key needs).
    op.drop_table("personal_tokens")
    op.drop_table("revoked_tokens")
