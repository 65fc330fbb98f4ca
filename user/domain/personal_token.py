"""Personal access tokens and the kinds of credential a request can carry (pure Python).

A personal access token is ``til_pat_`` and 43 URL-safe characters (32
random bytes). Only its SHA-256 is ever stored; the token itself is shown
once, in the response that creates it.
"""

import enum
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from user.domain.errors import InvalidUserInput

PERSONAL_TOKEN_PREFIX = "til_pat_"
PERSONAL_TOKEN_BYTES = 32
NAME_MIN_LENGTH = 1
NAME_MAX_LENGTH = 64
EXPIRES_IN_DAYS_MIN = 1
EXPIRES_IN_DAYS_MAX = 365
MAX_PERSONAL_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token: never a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# token_urlsafe(32) is exactly 43 characters of the URL-safe base64 alphabet.
_PERSONAL_TOKEN_SHAPE = re.compile(rf"{PERSONAL_TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}")


class Credential(enum.StrEnum):
    """What a request authenticated with: the activity log's ``auth``."""

    LOGIN = "login"  # a JWT from POST /users/login
    PERSONAL = "pat"  # a personal access token


def credential_of(token: str) -> Credential:
    """Which kind of credential a bearer token claims to be (not whether it is valid)."""
    return Credential.PERSONAL if token.startswith(PERSONAL_TOKEN_PREFIX) else Credential.LOGIN


def is_well_formed_personal_token(token: str) -> bool:
    """Whether ``token`` has the exact shape of a personal access token; nothing else is looked up."""
    return _PERSONAL_TOKEN_SHAPE.fullmatch(token) is not None


def new_personal_token() -> str:
    return PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(PERSONAL_TOKEN_BYTES)


def personal_token_hash(token: str) -> str:
    """The SHA-256 of the token, hex: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_name(name: str) -> str:
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidUserInput(f"name must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters")
    if not name.strip() or any(unicodedata.category(character) == "Cc" for character in name):
        raise InvalidUserInput("name must not be blank or contain control characters")
    return name


def check_expires_in_days(days: int | None) -> int | None:
    if days is not None and not EXPIRES_IN_DAYS_MIN <= days <= EXPIRES_IN_DAYS_MAX:
        raise InvalidUserInput(f"expires_in_days must be {EXPIRES_IN_DAYS_MIN} to {EXPIRES_IN_DAYS_MAX} or null")
    return days


@dataclass(kw_only=True)
class PersonalToken:
    """A personal access token as stored: its hash, never the token."""

    id: str
    user_id: str
    name: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None = None  # None: never
    last_used_at: datetime | None = None

    @classmethod
    def issue(
        cls, *, id: str, user_id: str, name: str, expires_in_days: int | None, now: datetime
    ) -> tuple["PersonalToken", str]:
        """A new token record and the token itself, which the caller shows once and forgets."""
        token = new_personal_token()
        days = check_expires_in_days(expires_in_days)
        record = cls(
            id=id,
            user_id=user_id,
            name=check_token_name(name),
            token_hash=personal_token_hash(token),
            created_at=now,
            expires_at=None if days is None else now + timedelta(days=days),
        )
        return record, token

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def last_use_is_stale(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is due to be written again at ``now``."""
        return self.last_used_at is None or self.last_used_at < now - LAST_USED_RESOLUTION
