"""Repository interfaces of the user app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from common.pagination import PageRequest
from user.domain.login_throttle import LoginThrottle
from user.domain.outbox_email import OutboxEmail
from user.domain.user import User


class UserRepository(ABC):
    @abstractmethod
    def add(self, user: User) -> None:
        """Stage a new user; ``EmailAlreadyRegistered`` if its email key is taken."""

    @abstractmethod
    def get(self, user_id: str) -> User | None: ...

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


class OutboxEmailRepository(ABC):
    """Emails waiting to be sent. The ``*_for_update`` reads lock the rows they
    return until the transaction ends; rows another transaction has locked are
    skipped, never waited for (``SELECT … FOR UPDATE SKIP LOCKED``)."""

    @abstractmethod
    def add(self, email: OutboxEmail) -> None: ...

    @abstractmethod
    def get(self, email_id: str) -> OutboxEmail | None: ...

    @abstractmethod
    def get_for_update(self, email_id: str, *, skip_locked: bool = True) -> OutboxEmail | None:
        """The email, locked; ``None`` if absent, or if locked by another
        transaction and ``skip_locked`` (otherwise wait for that lock)."""

    @abstractmethod
    def due_for_update(self, *, now: datetime, limit: int) -> Sequence[OutboxEmail]:
        """Up to ``limit`` pending emails due at ``now``, oldest due first, locked."""

    @abstractmethod
    def save(self, email: OutboxEmail) -> None:
        """Stage the changes made to an email read from this repository."""

    @abstractmethod
    def count_pending(self) -> int: ...
