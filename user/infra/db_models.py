"""SQLAlchemy tables of the user app. Rows never leave infra: see mappers.py."""

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from database.base import MYSQL_TABLE_OPTIONS, Base
from database.types import UtcDateTime, exact_string, ulid


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = MYSQL_TABLE_OPTIONS

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased address: what uniqueness and login compare.
    email_key: Mapped[str] = mapped_column(exact_string(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    digest: Mapped[str] = mapped_column(String(16), server_default="off")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginThrottleRow(Base):
    __tablename__ = "login_throttles"
    __table_args__ = MYSQL_TABLE_OPTIONS

    email_key: Mapped[str] = mapped_column(exact_string(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
