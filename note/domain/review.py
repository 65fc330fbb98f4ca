"""A note's review schedule (spaced repetition) and the ratings a review gives (pure Python).

The arithmetic of the next due time is not here: it is the ``ReviewScheduler``
port's (FSRS in infra). Here are the counters the SPEC defines on top of it.
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from note.domain.note import Note

FIRST_REVIEW_AFTER = timedelta(days=1)


class ReviewState(enum.StrEnum):
    LEARNING = "learning"
    REVIEW = "review"
    RELEARNING = "relearning"


class Rating(enum.StrEnum):
    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


@dataclass(frozen=True, slots=True)
class MemoryState:
    """What the scheduler computes from a review: when next, and its model of the memory."""

    due_at: datetime
    state: ReviewState
    step: int | None
    stability: float | None
    difficulty: float | None


@dataclass(kw_only=True)
class ReviewSchedule:
    note_id: str
    due_at: datetime
    state: ReviewState = ReviewState.LEARNING
    # Position in the learning (or relearning) steps; None once in review.
    step: int | None = 0
    stability: float | None = None
    difficulty: float | None = None
    reps: int = 0
    lapses: int = 0
    last_reviewed_at: datetime | None = None

    @classmethod
    def first(cls, *, note_id: str, created_at: datetime) -> "ReviewSchedule":
        """A new note's schedule: first due one day after it was written."""
        return cls(note_id=note_id, due_at=created_at + FIRST_REVIEW_AFTER)

    @property
    def memory(self) -> MemoryState:
        return MemoryState(
            due_at=self.due_at, state=self.state, step=self.step, stability=self.stability, difficulty=self.difficulty
        )

    def is_due(self, now: datetime) -> bool:
        return self.due_at <= now

    def record(self, *, rating: Rating, outcome: MemoryState, now: datetime) -> None:
        """Take the scheduler's ``outcome`` of a review rated ``rating`` at ``now``.

        ``lapses`` counts ``again`` given while the note was in review (forgotten after learning it)."""
        if rating is Rating.AGAIN and self.state is ReviewState.REVIEW:
            self.lapses += 1
        self.reps += 1
        self.last_reviewed_at = now
        self.due_at = outcome.due_at
        self.state = outcome.state
        self.step = outcome.step
        self.stability = outcome.stability
        self.difficulty = outcome.difficulty


@dataclass(frozen=True, slots=True)
class DueNote:
    """A note due for review, with its schedule (a read model of ``GET /review/due``)."""

    note: Note
    schedule: ReviewSchedule
