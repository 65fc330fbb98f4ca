"""account recovery: users.email_verified, and the account_tokens table (SHA-256 of reset and verification tokens)

Existing accounts start unverified, like new ones.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_nopad_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "account_tokens",
        sa.Column("id", exact(26), nullable=False),
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("token_hash", exact(64), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=False),
        sa.Column("used_at", timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account_tokens"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_account_tokens_user_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
        **MYSQL,
    )
    op.create_index(
        "ix_account_tokens_user_id_purpose_created_at", "account_tokens", ["user_id", "purpose", "created_at"]
    )
    op.create_index("ix_account_tokens_expires_at", "account_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("account_tokens")  # with its indexes (MariaDB keeps the foreign key's until then)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified")
