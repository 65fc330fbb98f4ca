"""One contract for the note app's repositories and unit of work, run against
the fakes (tests/note_fakes.py) and the SQLAlchemy versions on SQLite and
MariaDB, so the fakes the unit tests trust cannot drift from the real thing.

Every test works with fresh users, so the shared database's other rows never
show up in what is listed or counted.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.pagination import PageRequest
from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from note.application.ports import NoteUnitOfWork
from note.domain.note import Note
from note.domain.tag import Tag
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.note_fakes import FakeNoteUnitOfWork
from tests.note_support import SHARE_CIPHER, insert_user

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
T0 = datetime(2026, 11, 27, 9, 0, 0, 123456, tzinfo=UTC)
IDS = UlidIdGenerator()


@dataclass
class Store:
    """Units of work over one store (a fake's state or a real database), and users in it."""

    fake: FakeNoteUnitOfWork | None = None
    session_factory: sessionmaker[Session] | None = None

    def uow(self) -> NoteUnitOfWork:
        if self.fake is not None:
            return self.fake
        assert self.session_factory is not None
        return SqlAlchemyNoteUnitOfWork(self.session_factory, IDS, share_cipher=SHARE_CIPHER)

    def new_user(self) -> str:
        return IDS.new_id() if self.session_factory is None else insert_user(self.session_factory)


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Store:
    if request.param == "fake":
        return Store(fake=FakeNoteUnitOfWork())
    url = request.getfixturevalue(f"{request.param}_url")
    if url not in engines:
        engines[url] = build_engine(url)
    return Store(session_factory=build_session_factory(engines[url]))


def make_note(user_id: str, *, created_at: datetime = T0, **fields: object) -> Note:
    values: dict = {
        "id": IDS.new_id(),
        "user_id": user_id,
        "title": "오늘 배운 것 🎉",
        "content": "한국어 본문 and emoji 😀👨‍👩‍👧",
        "memo_date": date(2026, 11, 27),
        "tags": [],
        "created_at": created_at,
        "updated_at": created_at,
    }
    values.update(fields)
    return Note(**values)


def add(store: Store, *notes: Note) -> None:
    with store.uow() as uow:
        for note in notes:
            uow.notes.add(note)
        uow.commit()


def load(store: Store, note_id: str) -> Note | None:
    with store.uow() as uow:
        return uow.notes.get(note_id)


def tags_of(store: Store, user_id: str) -> list[Tag]:
    with store.uow() as uow:
        return list(uow.tags.list_for_user(user_id))


def test_an_added_note_reads_back_the_same(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["zeta", "알파", "😀", "Study", "study", "stüdy"], memo_date=date(1, 1, 1))

    add(store, note)

    assert load(store, note.id) == note
    with store.uow() as uow:
        assert uow.notes.get_for_update(note.id) == note


def test_absent_notes_are_none(store: Store) -> None:
    with store.uow() as uow:
        assert uow.notes.get("01J0000000000000000ABSENT00") is None
        assert uow.notes.get_for_update("01J0000000000000000ABSENT00") is None


def test_what_is_not_committed_is_rolled_back(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["never"])

    with store.uow() as uow:
        uow.notes.add(note)

    assert load(store, note.id) is None
    assert tags_of(store, user) == []


def test_update_at_the_expected_version_replaces_the_note(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a", "b", "c"])
    add(store, note)
    changed = make_note(
        user,
        id=note.id,
        title="new",
        content="new content",
        memo_date=date(2024, 2, 29),
        tags=["c", "d", "a"],
        version=2,
        updated_at=T0 + timedelta(minutes=1),
    )

    with store.uow() as uow:
        assert uow.notes.update(changed, expected_version=1) is True
        uow.commit()

    assert load(store, note.id) == changed


def test_update_at_another_version_changes_nothing(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a"])
    add(store, note)
    changed = make_note(user, id=note.id, title="lost", tags=["b"], version=3)

    with store.uow() as uow:
        assert uow.notes.update(changed, expected_version=2) is False
        uow.commit()

    assert load(store, note.id) == note
    assert tags_of(store, user) == [Tag(name="a", note_count=1)]


def test_update_of_an_absent_note_is_false(store: Store) -> None:
    user = store.new_user()

    with store.uow() as uow:
        assert uow.notes.update(make_note(user, version=2), expected_version=1) is False


def test_delete_removes_the_note_and_its_links_but_not_its_tags(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a"])
    add(store, note)

    with store.uow() as uow:
        uow.notes.delete(note)
        uow.commit()

    assert load(store, note.id) is None
    assert tags_of(store, user) == [Tag(name="a", note_count=0)]


def test_lists_are_the_users_notes_newest_first_ties_by_id(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    same_time = [make_note(user, created_at=T0 + timedelta(seconds=5)) for _ in range(3)]
    notes = [
        make_note(user, created_at=T0),
        make_note(user, created_at=T0 + timedelta(microseconds=1)),
        *same_time,
        make_note(user, created_at=T0 + timedelta(days=1)),
    ]
    add(store, *notes, make_note(other, created_at=T0 + timedelta(days=9)))
    expected = sorted(notes, key=lambda note: (note.created_at, note.id), reverse=True)

    with store.uow() as uow:
        pages = [uow.notes.page_for_user(user_id=user, page=PageRequest(page=n, items_per_page=4)) for n in (1, 2, 3)]

    assert [note.id for page in pages for note in page.items] == [note.id for note in expected]
    assert [len(page.items) for page in pages] == [4, 2, 0]
    assert [page.total_count for page in pages] == [6, 6, 6]
    assert [page.page for page in pages] == [1, 2, 3]


def test_tag_lists_compare_names_exactly_and_stay_within_the_user(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    older = make_note(user, tags=["study"], created_at=T0)
    newer = make_note(user, tags=["Study", "study"], created_at=T0 + timedelta(seconds=1))
    umlaut = make_note(user, tags=["stüdy"])
    add(store, older, newer, umlaut, make_note(other, tags=["study"], created_at=T0 + timedelta(days=1)))

    with store.uow() as uow:
        study = uow.notes.page_for_tag(user_id=user, tag_name="study", page=PageRequest()).items
        counts = {
            name: uow.notes.page_for_tag(user_id=user, tag_name=name, page=PageRequest()).total_count
            for name in ("study", "Study", "stüdy", "STUDY", "study ", "unknown")
        }
        second_page = uow.notes.page_for_tag(
            user_id=user, tag_name="study", page=PageRequest(page=2, items_per_page=1)
        ).items

    assert [note.id for note in study] == [newer.id, older.id]
    assert study[0] == newer
    assert counts == {"study": 2, "Study": 1, "stüdy": 1, "STUDY": 0, "study ": 0, "unknown": 0}
    assert [note.id for note in second_page] == [older.id]


def test_tags_are_listed_per_user_with_counts_in_code_point_order(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    add(
        store,
        make_note(user, tags=["b", "B", "é", "한국어"]),
        make_note(user, tags=["a", "b", "😀", "e", "Z"]),
        make_note(other, tags=["b", "other"]),
    )

    assert tags_of(store, user) == [
        Tag(name="B", note_count=1),
        Tag(name="Z", note_count=1),
        Tag(name="a", note_count=1),
        Tag(name="b", note_count=2),
        Tag(name="e", note_count=1),
        Tag(name="é", note_count=1),
        Tag(name="한국어", note_count=1),
        Tag(name="😀", note_count=1),
    ]
    assert tags_of(store, other) == [Tag(name="b", note_count=1), Tag(name="other", note_count=1)]


def test_remove_unused_removes_only_the_users_named_unused_tags(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    dropped = make_note(user, tags=["gone", "kept-by-other-note", "not-asked"])
    add(store, dropped, make_note(user, tags=["kept-by-other-note"]), make_note(other, tags=["gone"]))
    with store.uow() as uow:
        uow.notes.delete(dropped)
        uow.commit()

    with store.uow() as uow:
        uow.tags.remove_unused(user_id=user, names=["gone", "kept-by-other-note", "never-existed"])
        uow.tags.remove_unused(user_id=user, names=[])
        uow.commit()

    assert tags_of(store, user) == [Tag(name="kept-by-other-note", note_count=1), Tag(name="not-asked", note_count=0)]
    assert tags_of(store, other) == [Tag(name="gone", note_count=1)]


def test_a_tag_name_reused_after_removal_is_a_fresh_tag(store: Store) -> None:
    user = store.new_user()
    first = make_note(user, tags=["again"])
    add(store, first)
    with store.uow() as uow:
        uow.notes.delete(first)
        uow.tags.remove_unused(user_id=user, names=["again"])
        uow.commit()

    second = make_note(user, tags=["again"])
    add(store, second)

    assert load(store, second.id) == second
    assert tags_of(store, user) == [Tag(name="again", note_count=1)]
