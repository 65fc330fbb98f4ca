"""Repository interfaces of the user app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Sequence

from common.pagination import PageRequest
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
