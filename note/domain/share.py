"""A note's public link (pure Python): the share, its rules, and what an anonymous reader sees.

A share is a capability: whoever holds its token reads the note, as it is now,
until the link expires, is replaced or is removed. A note has at most one
share. The token is looked up by its SHA-256 only.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from note.domain.errors import InvalidNoteInput

SHARE_TOKEN_BYTES = 32
EXPIRES_IN_DAYS_MIN = 1
EXPIRES_IN_DAYS_MAX = 365


def new_share_token() -> str:
    """32 random bytes, URL-safe (43 characters of ``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def share_token_hash(token: str) -> str:
    """What the database keeps to find a share by its token: the SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_expires_in_days(days: int | None) -> int | None:
    """``None`` (the link never expires) or 1..365 days."""
    if days is not None and not EXPIRES_IN_DAYS_MIN <= days <= EXPIRES_IN_DAYS_MAX:
        raise InvalidNoteInput(f"expires_in_days must be {EXPIRES_IN_DAYS_MIN} to {EXPIRES_IN_DAYS_MAX}, or null")
    return days


@dataclass(frozen=True, kw_only=True)
class Share:
    """The public link of one note."""

    note_id: str
    token: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def create(cls, *, note_id: str, token: str, now: datetime, expires_in_days: int | None) -> "Share":
        days = check_expires_in_days(expires_in_days)
        return cls(
            note_id=note_id,
            token=token,
            created_at=now,
            expires_at=None if days is None else now + timedelta(days=days),
        )

    @property
    def token_hash(self) -> str:
        return share_token_hash(self.token)

    def is_active(self, now: datetime) -> bool:
        """Not expired yet: a link stops working at ``expires_at`` itself."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, kw_only=True)
class SharedNote:
    """A shared note as anyone with the link sees it: no ids, no email, the author by name."""

    title: str
    content: str
    memo_date: date
    tags: list[str]
    author: str
    updated_at: datetime
