"""Repository interfaces of the user app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from common.pagination import PageRequest
from user.domain.account_token import AccountToken, TokenPurpose
from user.domain.login_throttle import LoginThrottle
from user.domain.personal_token import PersonalToken
from user.domain.user import User


class UserRepository(ABC):
    @abstractmethod
    def add(self, user: User) -> None:
        """Stage a new user; ``EmailAlreadyRegistered`` if its email key is taken."""

    @abstractmethod
    def get(self, user_id: str) -> User | None: ...

    @abstractmethod
    def get_unless_revoked(self, user_id: str, *, token_id: str) -> User | None:
        """The user, unless it is absent or its login token ``token_id`` was revoked (logged out).

        One read: the caller lookup of every request made with a login token.
        """

    @abstractmethod
    def get_for_update(self, user_id: str) -> User | None:
        """The user, locked until the transaction ends: the read of every read-modify-write."""

    @abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """Find a user by address, case-insensitively."""

    @abstractmethod
    def save(self, user: User) -> None:
        """Stage the changes made to a user that was read from this repository:
        only the fields that changed are written, so a concurrent change to
        another field (a password, beside a rename) is never undone."""

    @abstractmethod
    def bump_token_version(self, user_id: str) -> bool:
        """Stage ``token_version + 1`` in one statement, ending every login token issued so far;
        ``False`` if the user is absent."""

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


class RevokedTokenRepository(ABC):
    """Login tokens that were logged out, kept until they would have expired anyway."""

    @abstractmethod
    def add(self, *, token_id: str, user_id: str, expires_at: datetime) -> None:
        """Stage the revocation; revoking a token twice is not an error."""

    @abstractmethod
    def prune(self, *, now: datetime) -> int:
        """Forget the revocations of tokens expired at ``now``; how many went."""


class PersonalTokenRepository(ABC):
    @abstractmethod
    def add(self, token: PersonalToken) -> None: ...

    @abstractmethod
    def lock_owner(self, user_id: str) -> bool:
        """Lock the owner's account until the transaction ends, so that concurrent
        creations are counted one after another; ``False`` if the account is gone."""

    @abstractmethod
    def count_for_user(self, user_id: str) -> int: ...

    @abstractmethod
    def list_for_user(self, user_id: str) -> Sequence[PersonalToken]:
        """The user's tokens, newest first."""

    @abstractmethod
    def get_with_owner(self, token_hash: str) -> tuple[PersonalToken, User] | None:
        """The token of that hash and the account it belongs to, in one read."""

    @abstractmethod
    def delete(self, *, user_id: str, token_id: str) -> bool:
        """Stage the removal of the user's token; ``False`` if it has no such token."""

    @abstractmethod
    def touch(self, token_id: str, *, now: datetime, stale_before: datetime) -> None:
        """Set ``last_used_at`` to ``now`` unless it is already ``stale_before`` or later
        (a conditional update: racing processes write it once)."""
