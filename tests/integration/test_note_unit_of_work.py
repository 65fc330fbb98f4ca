"""The SQLAlchemy unit of work of the note app on a real database."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.ulid_ids import UlidIdGenerator
from common.unit_of_work import WriteConflict
from database.engine import build_engine, build_session_factory
from note.domain.note import Note
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.support.notes import SHARE_CIPHER, insert_user

IDS = UlidIdGenerator()
pytestmark = pytest.mark.mariadb


@pytest.fixture
def mariadb_sessions(mariadb_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(mariadb_url)
    yield build_session_factory(engine)
    engine.dispose()


def add_note(session_factory: sessionmaker[Session], user_id: str) -> str:
    now = datetime.now(UTC)
    note = Note(
        id=IDS.new_id(),
        user_id=user_id,
        title="t",
        content="c",
        memo_date=date(2026, 11, 27),
        tags=["t"],
        created_at=now,
        updated_at=now,
    )
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        uow.notes.add(note)
        uow.commit()
    return note.id


def test_the_victim_of_a_deadlock_gets_write_conflict_and_the_other_commits(
    mariadb_sessions: sessionmaker[Session],
) -> None:
    user_id = insert_user(mariadb_sessions)
    first, second = add_note(mariadb_sessions, user_id), add_note(mariadb_sessions, user_id)
    both_hold_one = threading.Barrier(2)

    def lock_in_order(one: str, other: str) -> str:
        try:
            with SqlAlchemyNoteUnitOfWork(mariadb_sessions, IDS, share_cipher=SHARE_CIPHER) as uow:
                assert uow.notes.get_for_update(one) is not None
                both_hold_one.wait()
                uow.notes.get_for_update(other)  # each waits for the other: a deadlock
                uow.commit()
        except WriteConflict:
            return "conflict"
        return "committed"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lock_in_order, [first, second], [second, first]))

    assert outcomes == ["committed", "conflict"]
