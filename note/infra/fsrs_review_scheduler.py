"""The ``ReviewScheduler`` port on the ``fsrs`` package (FSRS-6) with its defaults:
its parameters, learning steps of 1 and 10 minutes, desired retention 0.9."""

from datetime import datetime

import fsrs

from note.application.ports import ReviewScheduler
from note.domain.review import MemoryState, Rating, ReviewState

_RATINGS = {
    Rating.AGAIN: fsrs.Rating.Again,
    Rating.HARD: fsrs.Rating.Hard,
    Rating.GOOD: fsrs.Rating.Good,
    Rating.EASY: fsrs.Rating.Easy,
}
_STATES = {
    ReviewState.LEARNING: fsrs.State.Learning,
    ReviewState.REVIEW: fsrs.State.Review,
    ReviewState.RELEARNING: fsrs.State.Relearning,
}
_FROM_FSRS_STATE = {value: key for key, value in _STATES.items()}


class FsrsReviewScheduler(ReviewScheduler):
    def __init__(self) -> None:
        # No fuzz: the same history always gives the same due time, which users (and tests) can rely on.
        self._scheduler = fsrs.Scheduler(enable_fuzzing=False)

    def review(
        self, memory: MemoryState, *, rating: Rating, last_reviewed_at: datetime | None, now: datetime
    ) -> MemoryState:
        card = fsrs.Card(
            state=_STATES[memory.state],
            step=memory.step,
            stability=memory.stability,
            difficulty=memory.difficulty,
            due=memory.due_at,
            last_review=last_reviewed_at,
        )
        card, _ = self._scheduler.review_card(card, _RATINGS[rating], now)
        return MemoryState(
            due_at=card.due,
            state=_FROM_FSRS_STATE[card.state],
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
        )
