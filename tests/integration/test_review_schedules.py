"""Review schedules on a real database and the real FSRS: the FSRS adapter's outcomes,
a schedule written with its note and gone with it, and migration 0010 scheduling older notes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from common.ulid_ids import UlidIdGenerator
from note.application.commands import NoteDraft
from note.application.note_service import NoteService
from note.domain.review import MemoryState, Rating, ReviewSchedule, ReviewState
from note.infra.fsrs_review_scheduler import FsrsReviewScheduler
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.fakes import FakeClock
from tests.support.app import alembic_config
from tests.support.notes import SHARE_CIPHER, insert_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _new_memory() -> MemoryState:
    return ReviewSchedule.first(note_id="n", created_at=NOW - timedelta(days=1)).memory


# --- the FSRS adapter ---


def test_good_on_a_new_card_takes_the_second_learning_step_of_10_minutes() -> None:
    outcome = FsrsReviewScheduler().review(_new_memory(), rating=Rating.GOOD, last_reviewed_at=None, now=NOW)

    assert (outcome.state, outcome.step, outcome.due_at) == (ReviewState.LEARNING, 1, NOW + timedelta(minutes=10))
    assert outcome.stability is not None
    assert outcome.difficulty is not None


def test_again_on_a_new_card_repeats_the_first_step_of_1_minute() -> None:
    outcome = FsrsReviewScheduler().review(_new_memory(), rating=Rating.AGAIN, last_reviewed_at=None, now=NOW)

    assert (outcome.state, outcome.due_at) == (ReviewState.LEARNING, NOW + timedelta(minutes=1))


def test_easy_graduates_to_review_days_ahead_as_fsrs_defaults_say() -> None:
    outcome = FsrsReviewScheduler().review(_new_memory(), rating=Rating.EASY, last_reviewed_at=None, now=NOW)
    card, _ = fsrs.Scheduler(enable_fuzzing=False).review_card(
        fsrs.Card(due=NOW - timedelta(days=1)), fsrs.Rating.Easy, NOW
    )

    assert outcome.state is ReviewState.REVIEW
    assert outcome.due_at == card.due
    assert outcome.due_at >= NOW + timedelta(days=1)
    assert (outcome.stability, outcome.difficulty) == (card.stability, card.difficulty)


def test_again_in_review_goes_to_relearning() -> None:
    scheduler = FsrsReviewScheduler()
    graduated = scheduler.review(_new_memory(), rating=Rating.EASY, last_reviewed_at=None, now=NOW)
    later = graduated.due_at + timedelta(days=1)

    outcome = scheduler.review(graduated, rating=Rating.AGAIN, last_reviewed_at=NOW, now=later)

    assert (outcome.state, outcome.due_at) == (ReviewState.RELEARNING, later + timedelta(minutes=10))


# --- schedules with their notes ---


def test_a_note_is_written_with_its_schedule_and_deleted_with_it(session_factory: sessionmaker[Session]) -> None:
    user_id = insert_user(session_factory)
    ids = UlidIdGenerator()
    service = NoteService(
        uow=SqlAlchemyNoteUnitOfWork(session_factory, ids, share_cipher=SHARE_CIPHER), clock=FakeClock(NOW), ids=ids
    )

    note = service.create_note(actor_id=user_id, draft=NoteDraft(title="t", content="c", memo_date="20261201"))
    with SqlAlchemyNoteUnitOfWork(session_factory, ids, share_cipher=SHARE_CIPHER) as uow:
        schedule = uow.schedules.get_for_update(note.id)
    service.delete_note(actor_id=user_id, note_id=note.id)

    assert schedule == ReviewSchedule.first(note_id=note.id, created_at=NOW)
    with session_factory() as session:
        left = session.execute(text("SELECT COUNT(*) FROM review_schedules WHERE note_id = :id"), {"id": note.id})
        assert left.scalar() == 0


def test_migration_0010_schedules_the_notes_written_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, name, email, email_key, password_hash, role, token_version, created_at,"
                    " updated_at) VALUES ('u1', 'Old', 'o@example.com', 'o@example.com', 'x', 'USER', 0,"
                    " '2026-11-27 09:00:00.000000', '2026-11-27 09:00:00.000000')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO notes (id, user_id, title, content, memo_date, version, created_at, updated_at)"
                    " VALUES ('n1', 'u1', 't', 'c', '2026-11-27', 1, '2026-11-27 09:00:00.000000',"
                    " '2026-11-27 09:00:00.000000')"
                )
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            row = connection.execute(text("SELECT due_at, state, reps, lapses FROM review_schedules")).one()
            user = connection.execute(text("SELECT timezone, digest FROM users")).one()
    finally:
        engine.dispose()

    assert (str(row.due_at)[:19], row.state, row.reps, row.lapses) == ("2026-11-28 09:00:00", "learning", 0, 0)
    assert tuple(user) == ("UTC", "off")
