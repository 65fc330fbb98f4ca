"""What the mail app offers other apps, and what it needs from the outside world, as abstract ports.

The chain of one email, one name per step:

1. **queue** (``Outbox.queue``): in the transaction of the change that causes
   the email, so it exists if and only if that change is committed;
2. **hand off** (``EmailHandoff.hand_off``): after the commit, pass it along
   without holding the caller (the web process's email threads);
3. **deliver** (``OutboxService.deliver``): claim it, send it, mark the outcome
   — here, or in a Celery worker once ``EmailPublisher.publish`` put it on the broker.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from common.unit_of_work import UnitOfWork
from mail.domain.outbox_email import EmailKind
from mail.domain.repository import OutboxEmailRepository


@dataclass(frozen=True, slots=True)
class QueuedEmail:
    """An outbox email committed and claimed for its first hand-off: ``claim``
    is the claim's name (and the Celery task id, when a broker carries it)."""

    outbox_id: str
    claim: str


class Outbox(ABC):
    """How another app queues an email, inside *its own* unit of work (the transactional outbox)."""

    @abstractmethod
    def queue(
        self,
        *,
        kind: EmailKind,
        recipient: str,
        payload: Mapping[str, str],
        now: datetime,
        dedupe_key: str | None = None,
    ) -> QueuedEmail | None:
        """Stage the email in the caller's transaction; hand the result off after the commit.

        ``payload`` fills the kind's templates. ``dedupe_key`` (e.g.
        ``"digest:<user>:<iso-week>"``): ``None`` is returned, and nothing
        staged, if an email with that key is already in the outbox.
        """


class EmailHandoff(ABC):
    """After the commit: passes a queued email along without holding the caller."""

    @abstractmethod
    def hand_off(self, email: QueuedEmail) -> None:
        """Return at once; never raises. If the email goes nowhere, the relay finds it in the outbox."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what the hand-off holds, when the process stops."""


class EmailPublisher(ABC):
    """Puts a queued email on the broker, for a worker to deliver."""

    @abstractmethod
    def publish(self, email: QueuedEmail) -> None:
        """Return once the broker took it; ``EmailPublishFailed`` otherwise. Never blocks long."""


class MailUnitOfWork(UnitOfWork):
    outbox: OutboxEmailRepository


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class EmailRenderer(ABC):
    @abstractmethod
    def render(self, *, kind: EmailKind, payload: Mapping[str, str]) -> RenderedEmail:
        """The kind's subject and its templates filled with ``payload``, whatever its keys."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    id: str  # the outbox id: stable, so the Message-ID is the same at every attempt
    recipient: str
    subject: str
    text: str
    html: str


class EmailSender(ABC):
    @abstractmethod
    def send(self, email: OutgoingEmail) -> None:
        """Return once the server accepted the email; ``EmailDeliveryFailed`` otherwise."""
