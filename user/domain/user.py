"""The user entity and its value rules (pure Python)."""

import contextlib
import enum
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from common.email_address import NotAnEmailAddress, normalize_email
from user.domain.errors import InvalidUserInput

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 32
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254


DEFAULT_TIMEZONE = "UTC"
TIMEZONE_MAX_LENGTH = 64
# The IANA names the zone database (system, else the tzdata package) lists; not the files
# that only look like zones there (``localtime``, ``posixrules``).
TIMEZONES = (frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules"}) | {DEFAULT_TIMEZONE}


class Digest(enum.StrEnum):
    """Whether the account gets the weekly digest email (SPEC §14)."""

    OFF = "off"
    WEEKLY = "weekly"


class Role(enum.StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


def canonical_email(email: str) -> str:
    """An address as it is stored: the one normalization signup applies
    (``common.email_address``). Text that is no address (a login may type
    anything) is only trimmed."""
    address = email.strip()
    with contextlib.suppress(NotAnEmailAddress):
        address = normalize_email(address)
    return address


def email_key(email: str) -> str:
    """The form of an address that uniqueness, login and the login throttle compare:
    canonical, then case-insensitive."""
    return canonical_email(email).lower()


def check_name(name: str) -> str:
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidUserInput(f"name must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters")
    # Control characters, like a title's: "printable" would also refuse every character newer than
    # Python's Unicode tables (this year's emoji), and no schema pattern could state it.
    if not name.strip() or any(unicodedata.category(character) == "Cc" for character in name):
        raise InvalidUserInput("name must not be blank or contain control characters")
    return name


def check_timezone(name: str) -> str:
    """An IANA zone name the zone database (tzdata) knows, e.g. ``Asia/Seoul``."""
    if name not in TIMEZONES:
        raise InvalidUserInput(f"timezone {name[:TIMEZONE_MAX_LENGTH]!r} is not an IANA time zone name")
    return name


def check_password(password: str) -> str:
    """Lengths are counted in characters: any 8..64-character password works."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidUserInput(f"password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")
    if "\x00" in password:
        raise InvalidUserInput("password must not contain NUL characters")
    return password


@dataclass(kw_only=True)
class User:
    id: str
    name: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime
    updated_at: datetime
    # Bumped by every password change and by logout-all; login tokens carry it, so older ones stop working.
    token_version: int = 0
    timezone: str = DEFAULT_TIMEZONE
    digest: Digest = Digest.OFF
    email_verified: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_view(self, other_id: str) -> bool:
        return self.is_admin or self.id == other_id

    def rename(self, name: str, *, now: datetime) -> None:
        self.name = check_name(name)
        self.updated_at = now

    def set_preferences(self, *, now: datetime, timezone: str | None = None, digest: Digest | None = None) -> None:
        """Change the time zone and digest choice that are given."""
        self.timezone = self.timezone if timezone is None else check_timezone(timezone)
        self.digest = self.digest if digest is None else digest
        self.updated_at = now

    def set_password_hash(self, password_hash: str, *, now: datetime) -> None:
        """Replace the password; every token issued before this stops working."""
        self.password_hash = password_hash
        self.token_version += 1
        self.updated_at = now

    def verify_email(self, *, now: datetime) -> None:
        if not self.email_verified:
            self.email_verified = True
            self.updated_at = now

    def upgrade_password_hash(self, password_hash: str) -> None:
        """Re-hash with current parameters after a login; tokens stay valid."""
        self.password_hash = password_hash
