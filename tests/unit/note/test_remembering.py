"""Remembering's rules with a fake clock and a fake scheduler: streaks, on-this-day days,
"today" either side of the date line and across DST, reviews' counters, the digest's week."""

from datetime import UTC, date, datetime, timedelta

import pytest

from note.application.ports import ReviewScheduler
from note.application.remembering_service import RememberingService
from note.domain.calendar import memo_day_of, streaks, today_in
from note.domain.digest import digest_week
from note.domain.errors import NoteNotFound
from note.domain.note import Note
from note.domain.review import MemoryState, Rating, ReviewSchedule, ReviewState
from tests.fakes import FakeClock
from tests.fakes.note import FakeNoteUnitOfWork

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


OUTCOMES = {
    Rating.AGAIN: (ReviewState.RELEARNING, 0),
    Rating.HARD: (ReviewState.LEARNING, 1),
    Rating.GOOD: (ReviewState.REVIEW, 3),
    Rating.EASY: (ReviewState.REVIEW, 7),
}


class FakeReviewScheduler(ReviewScheduler):
    """Moves a note to the state ``OUTCOMES`` names for the rating, due that many days later."""

    def review(
        self, memory: MemoryState, *, rating: Rating, last_reviewed_at: datetime | None, now: datetime
    ) -> MemoryState:
        state, days = OUTCOMES[rating]
        return MemoryState(due_at=now + timedelta(days=days), state=state, step=None, stability=1.0, difficulty=5.0)


def days(*texts: str) -> list[date]:
    return [date.fromisoformat(text) for text in texts]


# --- streaks ---


def test_a_streak_runs_across_a_month_end_and_a_year_end() -> None:
    run = streaks(days("2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"), today=date(2026, 1, 2))

    assert (run.current, run.longest) == (4, 4)


def test_a_streak_runs_across_a_leap_day() -> None:
    run = streaks(days("2024-02-28", "2024-02-29", "2024-03-01"), today=date(2024, 3, 2))

    assert (run.current, run.longest) == (3, 3)


def test_28_february_to_1_march_is_consecutive_only_in_a_common_year() -> None:
    common = streaks(days("2025-02-28", "2025-03-01"), today=date(2025, 3, 1))
    leap = streaks(days("2024-02-28", "2024-03-01"), today=date(2024, 3, 1))

    assert (common.current, common.longest) == (2, 2)
    assert (leap.current, leap.longest) == (1, 1)


def test_the_current_streak_is_zero_once_a_whole_day_passed() -> None:
    history = days("2026-11-10", "2026-11-11", "2026-11-12", "2026-11-28", "2026-11-29")

    assert streaks(history, today=date(2026, 11, 30)) == streaks(history, today=date(2026, 11, 29))
    assert streaks(history, today=date(2026, 11, 30)).current == 2
    assert streaks(history, today=date(2026, 12, 1)).current == 0
    assert streaks(history, today=date(2026, 12, 1)).longest == 3


def test_no_days_no_streaks() -> None:
    assert (streaks([], today=date(2026, 1, 1)).current, streaks([], today=date(2026, 1, 1)).longest) == (0, 0)


# --- today and on this day ---


def test_today_differs_either_side_of_the_date_line() -> None:
    moment = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)

    assert today_in("Pacific/Kiritimati", moment) == date(2026, 12, 2)  # UTC+14
    assert today_in("Pacific/Pago_Pago", moment) == date(2026, 12, 1)  # UTC-11
    assert today_in("Pacific/Pago_Pago", datetime(2026, 12, 1, 10, 59, tzinfo=UTC)) == date(2026, 11, 30)


def test_today_follows_daylight_saving_time() -> None:
    # New York: UTC-4 in summer, UTC-5 in winter; 03:30 UTC is the previous evening either way,
    # but 04:30 UTC is already the next day only in summer.
    assert today_in("America/New_York", datetime(2026, 7, 2, 4, 30, tzinfo=UTC)) == date(2026, 7, 2)
    assert today_in("America/New_York", datetime(2026, 1, 2, 4, 30, tzinfo=UTC)) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("target", "month", "expected_days"),
    [
        (date(2025, 2, 28), 2, (28, 29)),
        (date(2024, 2, 28), 2, (28,)),
        (date(2024, 2, 29), 2, (29,)),
        (date(2026, 3, 1), 3, (1,)),
    ],
)
def test_leap_day_notes_belong_to_28_february_of_common_years(target: date, month: int, expected_days: tuple) -> None:
    memo_day = memo_day_of(target)

    assert (memo_day.month, memo_day.days) == (month, expected_days)


# --- the service, with fakes ---


def _service(uow: FakeNoteUnitOfWork, clock: FakeClock) -> RememberingService:
    return RememberingService(uow=uow, scheduler=FakeReviewScheduler(), clock=clock)


def _add_note(uow: FakeNoteUnitOfWork, note_id: str, *, user_id: str = "u1", memo: date, created: datetime) -> Note:
    note = Note.create(
        note_id=note_id, user_id=user_id, title=note_id, content="c", memo_date=memo, tags=[], now=created
    )
    with uow:
        uow.notes.add(note)
        uow.schedules.add(ReviewSchedule.first(note_id=note_id, created_at=created))
        uow.commit()
    return note


def test_a_lapse_is_again_while_in_review_only() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(NOW)
    _add_note(uow, "n1", memo=date(2026, 12, 1), created=NOW)
    service = _service(uow, clock)

    again_in_learning = service.review_note(actor_id="u1", note_id="n1", rating=Rating.AGAIN)
    service.review_note(actor_id="u1", note_id="n1", rating=Rating.GOOD)
    lapse = service.review_note(actor_id="u1", note_id="n1", rating=Rating.AGAIN)
    again_in_relearning = service.review_note(actor_id="u1", note_id="n1", rating=Rating.AGAIN)

    assert again_in_learning.lapses == 0
    assert (lapse.lapses, lapse.reps, lapse.state) == (1, 3, ReviewState.RELEARNING)
    assert (again_in_relearning.lapses, again_in_relearning.reps) == (1, 4)
    assert again_in_relearning.last_reviewed_at == NOW


def test_a_review_is_rescheduled_from_now_and_stored() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(NOW)
    _add_note(uow, "n1", memo=date(2026, 12, 1), created=NOW - timedelta(days=10))
    service = _service(uow, clock)

    schedule = service.review_note(actor_id="u1", note_id="n1", rating=Rating.EASY)

    assert schedule.due_at == NOW + timedelta(days=7)
    assert uow.schedules_state["n1"] == schedule


def test_reviewing_another_users_note_is_not_found_and_changes_nothing() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(NOW)
    _add_note(uow, "n1", user_id="someone-else", memo=date(2026, 12, 1), created=NOW)
    before = uow.schedules_state["n1"]

    with pytest.raises(NoteNotFound):
        _service(uow, clock).review_note(actor_id="u1", note_id="n1", rating=Rating.GOOD)
    assert uow.schedules_state["n1"] == before


def test_due_reviews_are_most_overdue_first_and_counted_beyond_the_limit() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(NOW)
    for index, age in enumerate([3, 9, 5, 0]):  # the last is due tomorrow
        _add_note(uow, f"n{index}", memo=date(2026, 12, 1), created=NOW - timedelta(days=age))

    due = _service(uow, clock).due_reviews(actor_id="u1", limit=2)

    assert due.due_count == 3
    assert [entry.note.id for entry in due.notes] == ["n1", "n2"]


def test_on_this_day_defaults_to_today_in_the_callers_zone() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    _add_note(uow, "seoul", memo=date(2025, 12, 2), created=NOW)
    _add_note(uow, "utc", memo=date(2025, 12, 1), created=NOW)
    service = _service(uow, clock)

    in_seoul = service.on_this_day(actor_id="u1", timezone="Asia/Seoul")  # already 2 December there
    in_utc = service.on_this_day(actor_id="u1", timezone="UTC")

    assert (in_seoul.date, [n.id for n in in_seoul.years[0].notes]) == (date(2026, 12, 2), ["seoul"])
    assert (in_utc.date, [n.id for n in in_utc.years[0].notes]) == (date(2026, 12, 1), ["utc"])


def test_stats_days_are_the_last_365_in_the_callers_zone() -> None:
    uow, clock = FakeNoteUnitOfWork(), FakeClock(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    for note_id, memo in [("old", date(2025, 12, 2)), ("edge", date(2025, 12, 3)), ("today", date(2026, 12, 2))]:
        _add_note(uow, note_id, memo=memo, created=NOW)

    in_seoul = _service(uow, clock).stats(actor_id="u1", timezone="Asia/Seoul")  # today: 2 December
    in_utc = _service(uow, clock).stats(actor_id="u1", timezone="UTC")  # today: 1 December

    assert in_seoul.days == [(date(2025, 12, 3), 1), (date(2026, 12, 2), 1)]
    assert (in_seoul.current_streak, in_seoul.total_notes) == (1, 3)
    assert in_utc.days == [(date(2025, 12, 2), 1), (date(2025, 12, 3), 1)]  # tomorrow's note is not yet a day
    assert (in_utc.current_streak, in_utc.longest_streak) == (0, 2)


# --- the digest's week ---


def test_the_digest_week_starts_monday_0800_local() -> None:
    week = digest_week("Asia/Seoul", datetime(2026, 12, 6, 23, 30, tzinfo=UTC))  # Monday 7 Dec 08:30 in Seoul

    assert (week.key, week.monday) == ("2026-W50", date(2026, 12, 7))
    assert week.due_from == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert week.previous_days == (date(2026, 11, 30), date(2026, 12, 6))
    assert week.is_due(datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    assert not week.is_due(datetime(2026, 12, 6, 22, 59, tzinfo=UTC))


def test_the_digest_hour_follows_daylight_saving_time() -> None:
    summer = digest_week("Europe/Berlin", datetime(2026, 7, 8, 12, 0, tzinfo=UTC))
    winter = digest_week("Europe/Berlin", datetime(2026, 1, 7, 12, 0, tzinfo=UTC))

    assert summer.due_from == datetime(2026, 7, 6, 6, 0, tzinfo=UTC)
    assert winter.due_from == datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def test_the_iso_week_of_a_year_end_monday() -> None:
    assert digest_week("UTC", datetime(2026, 12, 31, 12, 0, tzinfo=UTC)).key == "2026-W53"
    assert digest_week("UTC", datetime(2027, 1, 4, 9, 0, tzinfo=UTC)).key == "2027-W01"
