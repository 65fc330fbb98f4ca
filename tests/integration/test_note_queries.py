"""A page of notes with their tags loads in a fixed number of SQL statements,
whatever the page size (no N+1), counted through SQLAlchemy's event hooks on
SQLite and MariaDB."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TypeVar

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from common.clock import SystemClock
from common.pagination import PageRequest
from common.ulid_ids import UlidIdGenerator
from note.application.note_service import NoteService
from note.domain.note import Note
from note.domain.search import NoteSearch, NoteSort
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.support.notes import SHARE_CIPHER, insert_user

PAGE_SIZES = (1, 10, 100)
T = TypeVar("T")
IDS = UlidIdGenerator()


class StatementLog:
    """Every statement sent to the database while it listens."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: object) -> None:  # before_cursor_execute(conn, cursor, statement, ...)
        self.statements.append(str(args[2]))

    def run(self, action: Callable[[], T]) -> tuple[T, int]:
        """``action``'s result, and how many statements it sent."""
        self.statements.clear()
        result = action()
        return result, len(self.statements)

    def selects(self) -> list[str]:
        return [statement for statement in self.statements if statement.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def statement_log(engine: Engine) -> Iterator[StatementLog]:
    log = StatementLog()
    event.listen(engine, "before_cursor_execute", log)
    yield log
    event.remove(engine, "before_cursor_execute", log)


@pytest.fixture(scope="module")
def user_with_100_notes(session_factory: sessionmaker[Session]) -> str:
    """A user with 100 notes, each carrying ``common`` and two tags of its own."""
    user_id = insert_user(session_factory)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        for number in range(100):
            created = start + timedelta(minutes=number)
            uow.notes.add(
                Note(
                    id=IDS.new_id(),
                    user_id=user_id,
                    title=f"note {number}",
                    content="content",
                    memo_date=date(2026, 1, 1),
                    tags=["common", f"own-{number}", f"또-{number}"],
                    created_at=created,
                    updated_at=created,
                )
            )
        uow.commit()
    return user_id


@pytest.fixture
def service(session_factory: sessionmaker[Session]) -> NoteService:
    return NoteService(
        uow=SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER), clock=SystemClock(), ids=IDS
    )


def test_listing_a_page_takes_the_same_statements_for_1_10_and_100_notes(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    counts = {}
    for size in PAGE_SIZES:
        page, counts[size] = statement_log.run(
            partial(service.list_notes, actor_id=user_with_100_notes, page=PageRequest(items_per_page=size))
        )
        assert len(page.items) == size
        assert all(note.tags[0] == "common" and len(note.tags) == 3 for note in page.items)
        assert page.items[-1].tags[1] == f"own-{100 - size}"

    assert len(set(counts.values())) == 1, counts
    # One: the page's notes, each with its tags (a subquery), and the total count (another).
    assert len(statement_log.selects()) == 1, statement_log.selects()


def test_a_page_past_the_end_takes_one_more_statement_for_the_count(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    page, _ = statement_log.run(
        partial(service.list_notes, actor_id=user_with_100_notes, page=PageRequest(page=11, items_per_page=10))
    )

    assert page.items == []
    assert page.total_count == 100
    assert len(statement_log.selects()) == 2, statement_log.selects()


def test_one_note_with_its_tags_takes_one_statement(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    first = service.list_notes(actor_id=user_with_100_notes, page=PageRequest(items_per_page=1)).items[0]

    note, _ = statement_log.run(partial(service.get_note, actor_id=user_with_100_notes, note_id=first.id))

    assert note == first
    assert len(statement_log.selects()) == 1, statement_log.selects()


def test_listing_by_tag_takes_the_same_statements_for_1_10_and_100_notes(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    counts = {}
    for size in PAGE_SIZES:
        page, counts[size] = statement_log.run(
            partial(
                service.list_notes_by_tag,
                actor_id=user_with_100_notes,
                tag_name="common",
                page=PageRequest(items_per_page=size),
            )
        )
        assert page.total_count == 100
        assert len(page.items) == size
        assert all(len(note.tags) == 3 for note in page.items)

    assert len(set(counts.values())) == 1, counts
    assert len(statement_log.selects()) == 1, statement_log.selects()


def test_tags_with_counts_take_one_statement_however_many_there_are(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    tags, _ = statement_log.run(partial(service.list_tags, actor_id=user_with_100_notes))

    assert len(tags) == 201
    assert (tags[0].name, tags[0].note_count) == ("common", 100)
    assert len(statement_log.selects()) == 1, statement_log.selects()


def test_a_search_with_every_filter_takes_one_statement_and_reads_no_folded_text(
    service: NoteService, statement_log: StatementLog, user_with_100_notes: str
) -> None:
    search = NoteSearch.parse(
        q="NOTE 1",
        tags=["common", "own-10"],
        memo_from=date(2026, 1, 1),
        memo_to=date(2026, 1, 1),
        sort=NoteSort.MEMO_DATE_ASC,
    )

    page, _ = statement_log.run(
        partial(service.list_notes, actor_id=user_with_100_notes, page=PageRequest(), search=search)
    )

    assert [note.title for note in page.items] == ["note 10"]
    assert page.total_count == 1
    [statement] = statement_log.selects()
    # The folded text is searched in, never loaded: the note columns (before the tags and count subqueries)
    # leave it out, and only the conditions name it.
    note_columns = statement.upper().split("(SELECT", 1)[0]
    assert "NOTES.TITLE" in note_columns
    assert "SEARCH_TEXT" not in note_columns
