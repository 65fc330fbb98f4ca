"""users and the failed-login throttle

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", exact(26), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_key", exact(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email_key", name="uq_users_email_key"),
        **MYSQL,
    )
    op.create_index("ix_users_created_at", "users", ["created_at"])
    op.create_table(
        "login_throttles",
        sa.Column("email_key", exact(254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("email_key", name="pk_login_throttles"),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
    op.drop_index("ix_users_created_at", table_name="users")
    op.drop_table("users")
