"""What the note service needs from the outside world, as abstract ports."""

from abc import ABC, abstractmethod
from datetime import datetime

from common.unit_of_work import UnitOfWork
from note.domain.repository import NoteRepository, ReviewScheduleRepository, TagRepository
from note.domain.review import MemoryState, Rating


class NoteUnitOfWork(UnitOfWork):
    """Raises ``WriteConflict`` out of its ``with`` block when the database
    aborted the transaction for a conflict with a concurrent one."""

    notes: NoteRepository
    tags: TagRepository
    schedules: ReviewScheduleRepository


class ReviewScheduler(ABC):
    """Spaced repetition: when a note is due next after a review, and the memory model behind it."""

    @abstractmethod
    def review(
        self, memory: MemoryState, *, rating: Rating, last_reviewed_at: datetime | None, now: datetime
    ) -> MemoryState:
        """The memory state after a review rated ``rating`` at ``now``, rescheduled from ``now``."""


class WriteConflict(Exception):
    """The database rolled this unit of work back to break a deadlock with a
    concurrent one; running the use case again may well succeed."""
