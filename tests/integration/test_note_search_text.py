"""The stored folded search text on a real database (SQLite and MariaDB): written with every note,
refreshed on demand by ``refresh_search_text`` after a write that renamed a tag behind the note's back."""

from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from common.pagination import PageRequest
from common.ulid_ids import UlidIdGenerator
from note.domain.note import Note
from note.domain.search import NoteSearch, searchable_text
from note.infra.db_models import NoteRow, TagRow
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.support.notes import SHARE_CIPHER, insert_user

IDS = UlidIdGenerator()


def new_note(user_id: str, **fields: object) -> Note:
    now = datetime.now(UTC)
    values: dict = {"title": "Title", "content": "Content", "tags": ["Study"]}
    values.update(fields)
    return Note(
        id=IDS.new_id(), user_id=user_id, memo_date=date(2026, 11, 27), created_at=now, updated_at=now, **values
    )


def stored_text(session_factory: sessionmaker[Session], note_id: str) -> str:
    with session_factory() as session:
        return session.execute(select(NoteRow.search_text).where(NoteRow.id == note_id)).scalar_one()


def found(session_factory: sessionmaker[Session], user_id: str, q: str) -> list[str]:
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        page = uow.notes.page_for_user(user_id=user_id, page=PageRequest(), search=NoteSearch.parse(q=q))
    return [note.id for note in page.items]


def test_the_stored_text_is_the_folded_title_content_and_tags(session_factory: sessionmaker[Session]) -> None:
    user = insert_user(session_factory)
    note = new_note(user, title="ＰＹＴＨＯＮ", content="Straße\nline two", tags=["Study", "한국어"])
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        uow.notes.add(note)
        uow.commit()

    assert stored_text(session_factory, note.id) == "python\nstrasse\nline two\nstudy\n한국어"
    assert stored_text(session_factory, note.id) == searchable_text(
        title=note.title, content=note.content, tags=note.tags
    )


def test_refresh_rebuilds_the_text_from_the_tag_names_the_notes_carry_now(
    session_factory: sessionmaker[Session],
) -> None:
    user, other = insert_user(session_factory), insert_user(session_factory)
    renamed, untouched = new_note(user, tags=["Study", "kept"]), new_note(user, tags=["kept"])
    others = new_note(other, tags=["Study"])
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        for note in (renamed, untouched, others):
            uow.notes.add(note)
        uow.commit()
    # What a tag rename does to the rows, without refreshing: the stored text still says "study".
    with session_factory.begin() as session:
        session.execute(update(TagRow).where(TagRow.user_id == user, TagRow.name == "Study").values(name="Learning"))
    assert found(session_factory, user, "learning") == []

    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        uow.notes.refresh_search_text(user_id=user, note_ids=[renamed.id, untouched.id, others.id])
        uow.commit()

    assert found(session_factory, user, "learning") == [renamed.id]
    assert found(session_factory, user, "study") == []
    assert stored_text(session_factory, renamed.id) == "title\ncontent\nlearning\nkept"
    # Another user's note named in the call is left alone.
    assert found(session_factory, other, "study") == [others.id]


def test_refresh_is_rolled_back_with_its_unit_of_work(session_factory: sessionmaker[Session]) -> None:
    user = insert_user(session_factory)
    note = new_note(user)
    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        uow.notes.add(note)
        uow.commit()
    with session_factory.begin() as session:
        session.execute(update(NoteRow).where(NoteRow.id == note.id).values(search_text="stale"))

    with SqlAlchemyNoteUnitOfWork(session_factory, IDS, share_cipher=SHARE_CIPHER) as uow:
        uow.notes.refresh_search_text(user_id=user, note_ids=[note.id])

    assert stored_text(session_factory, note.id) == "stale"
