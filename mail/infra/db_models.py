"""SQLAlchemy table of the mail app. Rows never leave infra: see mappers.py."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.base import MYSQL_TABLE_OPTIONS, Base
from database.types import UtcDateTime, exact_string, ulid


class OutboxEmailRow(Base):
    """The email outbox: written in the transaction that causes the email."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        # The relay's query: pending rows by due time.
        Index("ix_outbox_emails_status_next_attempt_at", "status", "next_attempt_at"),
        # Retention's query: sent rows by send time.
        Index("ix_outbox_emails_status_sent_at", "status", "sent_at"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text())  # a JSON object
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(exact_string(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # At most one email per key ("digest:<user>:<iso-week>"); NULL for emails without one.
    dedupe_key: Mapped[str | None] = mapped_column(exact_string(191), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
