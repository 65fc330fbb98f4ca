"""Repository interface of the mail app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from mail.domain.outbox_email import OutboxEmail


class OutboxEmailRepository(ABC):
    """Emails waiting to be sent. The ``*_for_update`` reads lock the rows they
    return until the transaction ends; rows another transaction has locked are
    skipped, never waited for (``SELECT … FOR UPDATE SKIP LOCKED``)."""

    @abstractmethod
    def add(self, email: OutboxEmail) -> bool:
        """Stage a new email; ``False`` (and nothing staged) if its ``dedupe_key`` is already in the outbox."""

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

    @abstractmethod
    def delete_sent_before(self, cutoff: datetime, *, limit: int) -> int:
        """Stage the removal of up to ``limit`` ``SENT`` emails sent before ``cutoff``; how many."""
