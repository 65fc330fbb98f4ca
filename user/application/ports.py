"""What the user service needs from the outside world, as abstract ports."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from common.unit_of_work import UnitOfWork
from user.domain.outbox_email import EmailKind
from user.domain.repository import (
    LoginThrottleRepository,
    OutboxEmailRepository,
    PersonalTokenRepository,
    RevokedTokenRepository,
    UserRepository,
)


class UserUnitOfWork(UnitOfWork):
    users: UserRepository
    login_throttles: LoginThrottleRepository
    outbox: OutboxEmailRepository
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


@dataclass(frozen=True, slots=True)
class QueuedEmail:
    """An outbox email committed and claimed for its first dispatch: ``claim``
    is the claim's name (and the Celery task id, when a broker carries it)."""

    outbox_id: str
    claim: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class EmailRenderer(ABC):
    @abstractmethod
    def render(self, *, kind: EmailKind, payload: dict[str, str]) -> RenderedEmail: ...


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    id: str  # the outbox id: stable, so the Message-ID is the same at every attempt
    recipient: str
    subject: str
    text: str
    html: str


class EmailDeliveryFailed(Exception):
    """The email was not handed over (server down, refused, timed out); worth retrying."""


class EmailSender(ABC):
    @abstractmethod
    def send(self, email: OutgoingEmail) -> None:
        """Return once the server accepted the email; ``EmailDeliveryFailed`` otherwise."""


class EmailDispatchFailed(Exception):
    """The email could not be handed to the broker."""


class EmailDispatcher(ABC):
    """Hands an outbox email to whoever sends it: a broker and its workers, or
    a thread pool of this process that is not the one serving requests."""

    @abstractmethod
    def dispatch(self, email: QueuedEmail) -> None:
        """Return once the email is handed over; ``EmailDispatchFailed`` otherwise. Never blocks long."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what the dispatcher holds, when the process stops."""
