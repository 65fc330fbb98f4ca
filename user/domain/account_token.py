"""One-time account tokens: password reset and email verification (pure Python).

The raw token (``secrets.token_urlsafe(32)``: 32 random bytes, URL-safe)
goes out in an email and is never stored: the database keeps its SHA-256
only, so a copy of the table opens no account. A reset token works once
and is voided by a newer request; a verification token works as often as
asked until it expires (verifying is idempotent).
"""

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

TOKEN_BYTES = 32
ACCOUNT_TOKEN_MAX_LENGTH = 128  # ours are 43 characters; anything far longer is no token of ours
RATE_WINDOW = timedelta(hours=1)  # ACCOUNT_EMAILS_PER_HOUR counts over this rolling window


class TokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"


def new_raw_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(raw: str) -> str:
    """What the database stores and looks tokens up by: the hex SHA-256 of the raw token."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountTokenPolicy:
    """Lifetimes of the two kinds, and how many emails an address may ask for per rolling hour."""

    reset_lifetime: timedelta
    verification_lifetime: timedelta
    emails_per_hour: int

    def lifetime(self, purpose: TokenPurpose) -> timedelta:
        return self.reset_lifetime if purpose is TokenPurpose.PASSWORD_RESET else self.verification_lifetime


@dataclass(kw_only=True)
class AccountToken:
    id: str
    user_id: str
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    # Asked for by the user (a reset, a verification resend): counts toward ACCOUNT_EMAILS_PER_HOUR.
    # The welcome email's verification token does not.
    counted: bool = True

    @classmethod
    def issue(
        cls,
        *,
        id: str,
        user_id: str,
        purpose: TokenPurpose,
        raw: str,
        now: datetime,
        lifetime: timedelta,
        counted: bool,
    ) -> "AccountToken":
        return cls(
            id=id,
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + lifetime,
            counted=counted,
        )

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def use(self, now: datetime) -> None:
        self.used_at = now


def emails_retry_after(counted_since: list[datetime], *, now: datetime, limit: int) -> int | None:
    """Seconds until another email may go out, given the creation times of the counted tokens of the last
    hour; ``None`` while fewer than ``limit`` were sent."""
    if len(counted_since) < limit:
        return None
    oldest_that_blocks = sorted(counted_since)[len(counted_since) - limit]
    return max(1, int((oldest_that_blocks + RATE_WINDOW - now).total_seconds()) + 1)
