"""the outbox: a dedupe key per email, and the index retention deletes by

FAILED emails keep their reason in the existing ``last_error`` column.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("outbox_emails") as batch:
        batch.add_column(sa.Column("dedupe_key", exact(191), nullable=True))
        batch.create_unique_constraint("uq_outbox_emails_dedupe_key", ["dedupe_key"])
    op.create_index("ix_outbox_emails_status_sent_at", "outbox_emails", ["status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_emails_status_sent_at", table_name="outbox_emails")
    with op.batch_alter_table("outbox_emails") as batch:
        batch.drop_constraint("uq_outbox_emails_dedupe_key", type_="unique")
        batch.drop_column("dedupe_key")
