"""Use cases of remembering (SPEC §14): review, on this day, stats. One unit of work each."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from common.clock import Clock
from common.unit_of_work import retry_on_conflict
from note.application.ports import NoteUnitOfWork, ReviewScheduler
from note.domain.calendar import memo_day_of, stats_window, streaks, today_in
from note.domain.errors import NoteNotFound, NoteWriteConflict
from note.domain.note import Note, parse_memo_date
from note.domain.review import DueNote, Rating, ReviewSchedule


@dataclass(frozen=True, slots=True)
class DueReviews:
    due_count: int  # all that are due, whatever the limit
    notes: list[DueNote]


@dataclass(frozen=True, slots=True)
class YearAgo:
    years_ago: int
    notes: list[Note]


@dataclass(frozen=True, slots=True)
class OnThisDay:
    date: date
    years: list[YearAgo]  # newest year first


@dataclass(frozen=True, slots=True)
class Stats:
    total_notes: int
    total_tags: int
    current_streak: int
    longest_streak: int
    days: list[tuple[date, int]]  # the last 365 days with notes, oldest first


class RememberingService:
    """``timezone`` arguments are the caller's IANA zone: "today" is the day there."""

    def __init__(self, *, uow: NoteUnitOfWork, scheduler: ReviewScheduler, clock: Clock) -> None:
        self._uow = uow
        self._scheduler = scheduler
        self._clock = clock

    def due_reviews(self, *, actor_id: str, limit: int) -> DueReviews:
        now = self._clock.now()
        with self._uow as uow:
            due_count = uow.schedules.count_due(user_id=actor_id, now=now)
            notes = list(uow.schedules.due_for_user(user_id=actor_id, now=now, limit=limit)) if due_count else []
        return DueReviews(due_count=due_count, notes=notes)

    def review_note(self, *, actor_id: str, note_id: str, rating: Rating) -> ReviewSchedule:
        """Record a review of one of the caller's notes and reschedule it from now.

        The schedule is locked while it is read and written: two reviews of a note queue, none is lost.
        A transaction the database aborts for a conflict runs again (``retry_on_conflict``)."""

        def review() -> ReviewSchedule:
            with self._uow as uow:
                note = uow.notes.get(note_id)
                if note is None or not note.belongs_to(actor_id):
                    raise NoteNotFound()
                schedule = uow.schedules.get_for_update(note_id)
                if schedule is None:  # deleted between the two reads
                    raise NoteNotFound()
                now = self._clock.now()
                outcome = self._scheduler.review(
                    schedule.memory, rating=rating, last_reviewed_at=schedule.last_reviewed_at, now=now
                )
                schedule.record(rating=rating, outcome=outcome, now=now)
                uow.schedules.save(schedule)
                uow.commit()
            return schedule

        return retry_on_conflict(review, exhausted=NoteWriteConflict)

    def on_this_day(self, *, actor_id: str, timezone: str, day: str | None = None) -> OnThisDay:
        """``day`` is ``YYYYMMDD`` (default: today in ``timezone``)."""
        target = today_in(timezone, self._clock.now()) if day is None else parse_memo_date(day)
        with self._uow as uow:
            notes = self.notes_on_this_day(uow, actor_id=actor_id, target=target)
        return OnThisDay(date=target, years=group_by_years_ago(notes, target=target))

    def stats(self, *, actor_id: str, timezone: str) -> Stats:
        today = today_in(timezone, self._clock.now())
        with self._uow as uow:
            total_notes = uow.notes.count_for_user(actor_id)
            total_tags = len(uow.tags.list_for_user(actor_id))
            counts = list(uow.notes.count_by_memo_date(user_id=actor_id, until=today))
        run = streaks((day for day, _ in counts), today=today)
        first, _ = stats_window(today)
        return Stats(
            total_notes=total_notes,
            total_tags=total_tags,
            current_streak=run.current,
            longest_streak=run.longest,
            days=[(day, count) for day, count in counts if day >= first],
        )

    @staticmethod
    def notes_on_this_day(uow: NoteUnitOfWork, *, actor_id: str, target: date) -> list[Note]:
        memo_day = memo_day_of(target)
        return list(
            uow.notes.with_memo_day(user_id=actor_id, month=memo_day.month, days=memo_day.days, before_year=target.year)
        )


def group_by_years_ago(notes: list[Note], *, target: date) -> list[YearAgo]:
    """``notes`` (newest ``memo_date`` first) grouped by how many years before ``target`` they were written for."""
    by_years: dict[int, list[Note]] = defaultdict(list)
    for note in notes:
        by_years[target.year - note.memo_date.year].append(note)
    return [YearAgo(years_ago=years, notes=by_years[years]) for years in sorted(by_years)]
