"""The weekly digest's use case with fakes and a fake clock: who is due when, what is in it,
once per week, nothing when there is nothing."""

from datetime import UTC, date, datetime, timedelta

from mail.domain.outbox_email import EmailKind
from note.application.digest_service import DigestService
from note.domain.note import Note
from note.domain.review import ReviewSchedule
from tests.fakes import FakeClock
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.note import FakeNoteUnitOfWork

# Monday 7 December 2026 (ISO week 2026-W50), 07:30 UTC.
MONDAY_0730_UTC = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)


def _setup(*accounts: tuple[str, str]) -> tuple[FakeNoteUnitOfWork, FakeClock, FakeEmailHandoff, DigestService]:
    uow, clock, handoff = FakeNoteUnitOfWork(), FakeClock(MONDAY_0730_UTC), FakeEmailHandoff()
    for user_id, timezone in accounts:
        uow.accounts[user_id] = (f"{user_id}@example.com", user_id.title(), timezone)
    return uow, clock, handoff, DigestService(uow=uow, clock=clock, emails=handoff, batch_size=2)


def _note(uow: FakeNoteUnitOfWork, note_id: str, user_id: str, memo: date, *, created: datetime) -> None:
    note = Note.create(
        note_id=note_id, user_id=user_id, title=note_id, content="c", memo_date=memo, tags=[], now=created
    )
    with uow:
        uow.notes.add(note)
        uow.schedules.add(ReviewSchedule.first(note_id=note_id, created_at=created))
        uow.commit()


def _digests(uow: FakeNoteUnitOfWork) -> list:
    return [email for email in uow.outbox_state.values() if email.kind is EmailKind.DIGEST]


def test_an_account_is_due_from_monday_0800_in_its_zone() -> None:
    _, clock, _, service = _setup(("london", "Europe/London"), ("seoul", "Asia/Seoul"), ("lima", "America/Lima"))

    assert [id_ for batch in service.due_accounts() for id_ in batch] == ["seoul"]  # 16:30 in Seoul
    clock.advance(minutes=30)  # 08:00 in London
    assert sorted(id_ for batch in service.due_accounts() for id_ in batch) == ["london", "seoul"]
    clock.advance(hours=5)  # 08:00 in Lima (UTC-5)
    assert sorted(id_ for batch in service.due_accounts() for id_ in batch) == ["lima", "london", "seoul"]


def test_the_digest_holds_the_past_weeks_notes_on_this_day_and_the_due_count() -> None:
    uow, _, handoff, service = _setup(("seoul", "Asia/Seoul"))
    created = MONDAY_0730_UTC - timedelta(days=20)
    _note(uow, "before-window", "seoul", date(2026, 11, 29), created=created)
    _note(uow, "first-day", "seoul", date(2026, 11, 30), created=created)
    _note(uow, "last-day", "seoul", date(2026, 12, 6), created=created)
    _note(uow, "the-monday", "seoul", date(2026, 12, 7), created=created)
    _note(uow, "a-year-ago", "seoul", date(2025, 12, 7), created=created)

    assert service.run_pass() == 1

    [email] = _digests(uow)
    assert email.recipient == "seoul@example.com"
    assert email.dedupe_key == "digest:seoul:2026-W50"
    payload = email.payload
    assert payload["week_notes"] == "20261130 first-day\n20261206 last-day"
    assert payload["on_this_day"] == "1y ago · 20251207 a-year-ago"
    assert payload["due_count"] == "5"
    assert (payload["first_day"], payload["last_day"]) == ("20261130", "20261206")
    assert len(handoff.handed_off) == 1


def test_once_per_week_however_often_it_runs() -> None:
    uow, clock, _, service = _setup(("seoul", "Asia/Seoul"))
    _note(uow, "n", "seoul", date(2026, 12, 1), created=MONDAY_0730_UTC)

    assert service.run_pass() == 1
    assert service.run_pass() == 0
    clock.advance(days=3)
    assert service.send_digest("seoul") is False
    assert len(_digests(uow)) == 1
    clock.advance(days=4)  # the next Monday, 2026-W51: the note is due for review by now
    assert service.run_pass() == 1
    assert [email.dedupe_key for email in _digests(uow)] == ["digest:seoul:2026-W50", "digest:seoul:2026-W51"]


def test_the_outbox_key_stops_a_racing_second_digest() -> None:
    uow, _, handoff, service = _setup(("seoul", "Asia/Seoul"))
    _note(uow, "n", "seoul", date(2026, 12, 1), created=MONDAY_0730_UTC)
    assert service.send_digest("seoul") is True
    uow.weeks_state.clear()  # as if another scheduler had read the account before this one committed

    assert service.send_digest("seoul") is False
    assert len(_digests(uow)) == 1
    assert len(handoff.handed_off) == 1


def test_nothing_to_show_sends_nothing_and_settles_the_week() -> None:
    uow, _, _, service = _setup(("empty", "UTC"))
    uow.accounts["empty"] = ("empty@example.com", "Empty", "Asia/Seoul")

    assert service.run_pass() == 0
    assert _digests(uow) == []
    assert uow.weeks_state == {"empty": "2026-W50"}
    assert list(service.due_accounts()) == []


def test_accounts_come_in_batches() -> None:
    _, _, _, service = _setup(*((f"user{index}", "Asia/Seoul") for index in range(5)))

    assert list(service.due_accounts()) == [["user0", "user1"], ["user2", "user3"], ["user4"]]
