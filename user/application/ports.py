"""What the user service needs from the outside world, as abstract ports."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from common.unit_of_work import UnitOfWork
from mail.application.ports import Outbox
from user.domain.repository import (
    AccountTokenRepository,
    LoginThrottleRepository,
    PersonalTokenRepository,
    RevokedTokenRepository,
    UserRepository,
)


class UserUnitOfWork(UnitOfWork):
    users: UserRepository
    login_throttles: LoginThrottleRepository
    account_tokens: AccountTokenRepository
    outbox: Outbox  # the mail app's: emails queued here commit with the account
    revoked_tokens: RevokedTokenRepository
    personal_tokens: PersonalTokenRepository


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    valid: bool
    # A new hash when the stored one uses an older scheme or weaker parameters.
    upgraded_hash: str | None = None


class PasswordHasher(ABC):
    @abstractmethod
    def hash(self, password: str) -> str: ...

    @abstractmethod
    def verify(self, password: str, password_hash: str) -> PasswordCheck: ...

    @abstractmethod
    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verification, so an unknown email and a
        wrong password cannot be told apart by timing."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    version: int
    token_id: str  # the ``jti``: what a logout revokes
    expires_at: datetime


class TokenIssuer(ABC):
    @abstractmethod
    def issue(self, *, subject: str, version: int, token_id: str, now: datetime) -> AccessToken: ...

    @abstractmethod
    def decode(self, token: str) -> TokenClaims:
        """The claims of a valid token; ``InvalidToken`` for anything else."""
