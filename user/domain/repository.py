"""Repository interfaces of the user app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from common.pagination import PageRequest
from user.domain.account_token import AccountToken, TokenPurpose
from user.domain.login_throttle import LoginThrottle
from user.domain.user import User


class UserRepository(ABC):
    @abstractmethod
    def add(self, user: User) -> None:
        """Stage a new user; ``EmailAlreadyRegistered`` if its email key is taken."""

    @abstractmethod
    def get(self, user_id: str) -> User | None: ...

    @abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """Find a user by address, case-insensitively."""

    @abstractmethod
    def save(self, user: User) -> None:
        """Stage the changes made to a user that was read from this repository."""

    @abstractmethod
    def delete(self, user_id: str) -> None:
        """Stage the removal of a user (its notes and tags go with it)."""

    @abstractmethod
    def list(self, page: PageRequest) -> Sequence[User]:
        """Users oldest first."""

    @abstractmethod
    def count(self) -> int: ...


class LoginThrottleRepository(ABC):
    @abstractmethod
    def get(self, email_key: str) -> LoginThrottle | None:
        """A plain read, for the check before a password is verified."""

    @abstractmethod
    def get_for_update(self, email_key: str) -> LoginThrottle:
        """The throttle of ``email_key`` (created if absent), locked until the
        transaction ends, so that concurrent failures in several processes
        are all counted."""

    @abstractmethod
    def save(self, throttle: LoginThrottle) -> None: ...

    @abstractmethod
    def reset(self, email_key: str) -> None:
        """Forget the failures of ``email_key``."""


class AccountTokenRepository(ABC):
    """Reset and verification tokens, found by their SHA-256 (the raw token is never stored)."""

    @abstractmethod
    def lock_owner(self, user_id: str) -> None:
        """Lock the account until the transaction ends, so that concurrent requests for it queue here and
        each counts the tokens of the one before (the hourly limit)."""

    @abstractmethod
    def add(self, token: AccountToken) -> None: ...

    @abstractmethod
    def get_by_hash(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        """The token, locked until the transaction ends (two confirmations of one token run one after the other)."""

    @abstractmethod
    def save(self, token: AccountToken) -> None: ...

    @abstractmethod
    def void_unused(self, *, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        """Mark every unused token of the user and purpose used at ``now``."""

    @abstractmethod
    def counted_since(self, *, user_id: str, purpose: TokenPurpose, since: datetime) -> list[datetime]:
        """Creation times of the counted tokens (see ``AccountToken.counted``) created at or after ``since``."""

    @abstractmethod
    def delete_spent(self, *, now: datetime, created_before: datetime) -> int:
        """Stage the removal of the used or expired tokens created before ``created_before``; how many."""
