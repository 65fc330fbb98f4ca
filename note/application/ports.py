"""What the note service needs from the outside world, as abstract ports."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.unit_of_work import UnitOfWork
from mail.application.ports import Outbox
from note.domain.repository import (
    DigestWeekRepository,
    NoteImportRepository,
    NoteRepository,
    ReviewScheduleRepository,
    ShareRepository,
    TagRepository,
)
from note.domain.review import MemoryState, Rating


class NoteUnitOfWork(UnitOfWork):
    """Raises ``WriteConflict`` (``common.unit_of_work``) out of its ``with`` block
    when the database aborted the transaction for a conflict with a concurrent one."""

    notes: NoteRepository
    tags: TagRepository
    schedules: ReviewScheduleRepository
    digest_recipients: "DigestRecipients"
    digest_weeks: DigestWeekRepository
    outbox: Outbox  # the mail app's, on this unit of work's transaction
    imports: NoteImportRepository
    shares: ShareRepository


@dataclass(frozen=True, slots=True)
class DigestRecipient:
    """An account that asked for the weekly digest, as far as the note app needs to know it."""

    user_id: str
    email: str
    name: str
    timezone: str
    last_week: str | None  # the last ISO week ("2026-W49") its digest was dealt with


class DigestRecipients(ABC):
    """The accounts with ``digest: weekly``. Read-only: the accounts belong to the user app."""

    @abstractmethod
    def weekly(self, *, after_id: str | None, limit: int) -> Sequence[DigestRecipient]:
        """At most ``limit`` of them, by id, those after ``after_id``: a batch."""

    @abstractmethod
    def get(self, user_id: str) -> DigestRecipient | None:
        """The account if it (still) wants the digest."""


class ReviewScheduler(ABC):
    """Spaced repetition: when a note is due next after a review, and the memory model behind it."""

    @abstractmethod
    def review(
        self, memory: MemoryState, *, rating: Rating, last_reviewed_at: datetime | None, now: datetime
    ) -> MemoryState:
        """The memory state after a review rated ``rating`` at ``now``, rescheduled from ``now``."""
