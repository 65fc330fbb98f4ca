"""SQLAlchemy tables of the user app. Rows never leave infra: see mappers.py."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
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
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginThrottleRow(Base):
    __tablename__ = "login_throttles"
    __table_args__ = MYSQL_TABLE_OPTIONS

    email_key: Mapped[str] = mapped_column(exact_string(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RevokedTokenRow(Base):
    """Login tokens logged out before they expired; pruned once they would have expired anyway."""

    __tablename__ = "revoked_tokens"
    __table_args__ = MYSQL_TABLE_OPTIONS

    jti: Mapped[str] = mapped_column(exact_string(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class PersonalTokenRow(Base):
    """Personal access tokens: the SHA-256 of each, never the token."""

    __tablename__ = "personal_tokens"
    __table_args__ = (
        # The account's list, newest first, and its count.
        Index("ix_personal_tokens_user_id_created_at", "user_id", "created_at"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(exact_string(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AccountTokenRow(Base):
    """A reset or verification token: only its SHA-256 (hex) is stored."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        Index("ix_account_tokens_user_id_purpose_created_at", "user_id", "purpose", "created_at"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(exact_string(64), unique=True)
    counted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
