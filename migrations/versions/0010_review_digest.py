"""users' timezone and digest choice; a review schedule per note

Existing notes get a schedule first due one day after they were created.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def exact(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_nopad_bin"), "mysql", "mariadb")


def timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))
        batch.add_column(sa.Column("digest", sa.String(16), nullable=False, server_default="off"))
    op.create_table(
        "review_schedules",
        sa.Column("note_id", exact(26), nullable=False),
        sa.Column("due_at", timestamp(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("difficulty", sa.Float(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.Column("last_reviewed_at", timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name="fk_review_schedules_note_id_notes", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("note_id", name="pk_review_schedules"),
        **MYSQL,
    )
    op.create_index("ix_review_schedules_due_at", "review_schedules", ["due_at"])
    _schedule_existing_notes()
    op.create_table(
        "digest_weeks",
        sa.Column("user_id", exact(26), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_digest_weeks_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_digest_weeks"),
        **MYSQL,
    )


def _schedule_existing_notes() -> None:
    """A first schedule for every note written before this revision: due one day after its creation."""
    notes = sa.table("notes", sa.column("id", sa.String()), sa.column("created_at", sa.DateTime()))
    schedules = sa.table(
        "review_schedules",
        *(sa.column(name) for name in ("note_id", "state", "step", "reps", "lapses")),
        sa.column("due_at", sa.DateTime()),
    )
    bind = op.get_bind()
    rows = [
        {
            "note_id": note_id,
            "due_at": created_at + timedelta(days=1),
            "state": "learning",
            "step": 0,
            "reps": 0,
            "lapses": 0,
        }
        for note_id, created_at in bind.execute(sa.select(notes.c.id, notes.c.created_at))
    ]
    if rows:
        bind.execute(sa.insert(schedules), rows)


def downgrade() -> None:
    op.drop_table("digest_weeks")
    op.drop_index("ix_review_schedules_due_at", table_name="review_schedules")
    op.drop_table("review_schedules")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("digest")
        batch.drop_column("timezone")
