"""NoteService with in-memory fakes: the use cases' behaviour, no database, no app."""

import pytest

from common.pagination import PageRequest
from common.unit_of_work import WRITE_ATTEMPTS
from note.application.commands import NoteChanges, NoteDraft
from note.application.note_service import NoteService
from note.domain.errors import InvalidNoteInput, NoteNotFound, NoteVersionMismatch, NoteWriteConflict
from note.domain.search import NoteSearch, NoteSort
from note.domain.tag import Tag
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.note import ConflictingNoteUnitOfWork, FakeNoteUnitOfWork

ALICE = "01J000000000000000000ALICE"
BOB = "01J00000000000000000000BOB"


@pytest.fixture
def uow() -> FakeNoteUnitOfWork:
    return FakeNoteUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(uow: FakeNoteUnitOfWork, clock: FakeClock) -> NoteService:
    return NoteService(uow=uow, clock=clock, ids=SequentialIds())


def write(service: NoteService, actor_id: str = ALICE, **fields: object) -> str:
    values: dict = {"title": "A title", "content": "Some content", "memo_date": "20261127", "tags": []}
    values.update(fields)
    return service.create_note(actor_id=actor_id, draft=NoteDraft(**values)).id


def test_create_stores_the_note_with_its_rules_applied(service: NoteService, uow: FakeNoteUnitOfWork) -> None:
    note = service.create_note(
        actor_id=ALICE, draft=NoteDraft(title="오늘 🎉", content="본문", memo_date="20240229", tags=[" a ", "a", "B"])
    )

    assert service.get_note(actor_id=ALICE, note_id=note.id) == note
    assert (note.user_id, note.version, note.tags, note.memo_date.isoformat()) == (ALICE, 1, ["a", "B"], "2024-02-29")
    assert uow.commits == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "x" * 65},
        {"content": "x" * 20_001},
        {"memo_date": "20230230"},
        {"memo_date": "2023-01-01"},
        {"tags": ["a/b"]},
        {"tags": ["x" * 33]},
        {"tags": [f"t{i}" for i in range(33)]},
    ],
)
def test_invalid_input_writes_nothing(service: NoteService, uow: FakeNoteUnitOfWork, fields: dict) -> None:
    with pytest.raises(InvalidNoteInput):
        write(service, **fields)

    assert uow.commits == 0
    assert uow.notes_state == {}
    assert uow.tags_state == set()


def test_another_users_note_is_not_found_for_every_use(service: NoteService, uow: FakeNoteUnitOfWork) -> None:
    note_id = write(service, tags=["mine"])
    before = dict(uow.notes_state)

    with pytest.raises(NoteNotFound):
        service.get_note(actor_id=BOB, note_id=note_id)
    with pytest.raises(NoteNotFound):
        service.update_note(actor_id=BOB, note_id=note_id, changes=NoteChanges(title="stolen"))
    with pytest.raises(NoteNotFound):
        service.delete_note(actor_id=BOB, note_id=note_id)

    assert uow.notes_state == before
    assert service.list_tags(actor_id=ALICE) == [Tag(name="mine", note_count=1)]


def test_an_absent_note_is_not_found(service: NoteService) -> None:
    with pytest.raises(NoteNotFound):
        service.get_note(actor_id=ALICE, note_id="nope")
    with pytest.raises(NoteNotFound):
        service.update_note(actor_id=ALICE, note_id="nope", changes=NoteChanges(title="x"))
    with pytest.raises(NoteNotFound):
        service.delete_note(actor_id=ALICE, note_id="nope")


def test_update_changes_only_what_is_given(service: NoteService, clock: FakeClock) -> None:
    note_id = write(service, title="Old", content="Body", memo_date="20260101", tags=["a", "b"])
    clock.advance(minutes=1)

    updated = service.update_note(actor_id=ALICE, note_id=note_id, changes=NoteChanges(title="New"))

    assert (updated.title, updated.content, updated.tags, updated.version) == ("New", "Body", ["a", "b"], 2)
    assert updated.updated_at == clock.now() != updated.created_at
    assert service.get_note(actor_id=ALICE, note_id=note_id) == updated


def test_update_with_empty_tags_clears_them_and_none_leaves_them(service: NoteService) -> None:
    note_id = write(service, tags=["a"])

    assert service.update_note(actor_id=ALICE, note_id=note_id, changes=NoteChanges(tags=None)).tags == ["a"]
    assert service.update_note(actor_id=ALICE, note_id=note_id, changes=NoteChanges(tags=[])).tags == []


def test_update_with_a_matching_version_succeeds(service: NoteService) -> None:
    note_id = write(service)

    updated = service.update_note(actor_id=ALICE, note_id=note_id, if_match={1}, changes=NoteChanges(title="v2"))

    assert updated.version == 2
    assert (
        service.update_note(actor_id=ALICE, note_id=note_id, if_match={1, 2}, changes=NoteChanges(title="v3")).version
        == 3
    )


def test_update_with_a_stale_version_fails_and_changes_nothing(service: NoteService, uow: FakeNoteUnitOfWork) -> None:
    note_id = write(service, tags=["keep"])
    service.update_note(actor_id=ALICE, note_id=note_id, changes=NoteChanges(title="v2"))
    before = service.get_note(actor_id=ALICE, note_id=note_id)
    commits = uow.commits

    for stale in ({1}, set(), {3}):
        with pytest.raises(NoteVersionMismatch):
            service.update_note(
                actor_id=ALICE, note_id=note_id, if_match=stale, changes=NoteChanges(title="lost", tags=["other"])
            )

    assert service.get_note(actor_id=ALICE, note_id=note_id) == before
    assert service.list_tags(actor_id=ALICE) == [Tag(name="keep", note_count=1)]
    assert uow.commits == commits


def test_invalid_update_changes_nothing(service: NoteService) -> None:
    note_id = write(service, title="Old")

    with pytest.raises(InvalidNoteInput):
        service.update_note(actor_id=ALICE, note_id=note_id, changes=NoteChanges(title="New", memo_date="20230230"))

    assert service.get_note(actor_id=ALICE, note_id=note_id).title == "Old"


def test_a_tag_left_unused_by_an_update_is_removed(service: NoteService) -> None:
    first = write(service, tags=["shared", "only-first"])
    write(service, tags=["shared"])

    service.update_note(actor_id=ALICE, note_id=first, changes=NoteChanges(tags=["new"]))

    assert service.list_tags(actor_id=ALICE) == [Tag(name="new", note_count=1), Tag(name="shared", note_count=1)]


def test_deleting_a_note_removes_the_tags_it_alone_used(service: NoteService) -> None:
    first = write(service, tags=["shared", "only-first"])
    write(service, tags=["shared"])

    service.delete_note(actor_id=ALICE, note_id=first)

    with pytest.raises(NoteNotFound):
        service.get_note(actor_id=ALICE, note_id=first)
    assert service.list_tags(actor_id=ALICE) == [Tag(name="shared", note_count=1)]


def test_delete_with_a_stale_version_fails_and_keeps_the_note(service: NoteService) -> None:
    note_id = write(service)

    with pytest.raises(NoteVersionMismatch):
        service.delete_note(actor_id=ALICE, note_id=note_id, if_match={7})
    service.delete_note(actor_id=ALICE, note_id=note_id, if_match={1})

    assert service.list_notes(actor_id=ALICE, page=PageRequest()).total_count == 0


def test_list_is_the_callers_notes_newest_first(service: NoteService, clock: FakeClock) -> None:
    ids = []
    for _ in range(5):
        ids.append(write(service))
        clock.advance(seconds=1)
    write(service, actor_id=BOB)

    page = service.list_notes(actor_id=ALICE, page=PageRequest(page=1, items_per_page=3))
    rest = service.list_notes(actor_id=ALICE, page=PageRequest(page=2, items_per_page=3))

    assert (page.total_count, page.page) == (5, 1)
    assert [note.id for note in [*page.items, *rest.items]] == ids[::-1]


def test_a_page_past_the_end_is_empty_with_the_true_total(service: NoteService) -> None:
    write(service)
    write(service)

    page = service.list_notes(actor_id=ALICE, page=PageRequest(page=3, items_per_page=1))

    assert (page.items, page.total_count, page.page) == ([], 2, 3)


def test_list_by_tag_is_exact_and_the_callers_only(service: NoteService, clock: FakeClock) -> None:
    older = write(service, tags=["study"])
    clock.advance(seconds=1)
    newer = write(service, tags=["study", "Study"])
    write(service, tags=["stüdy"])
    write(service, actor_id=BOB, tags=["study"])

    page = service.list_notes_by_tag(actor_id=ALICE, tag_name="study", page=PageRequest())

    assert [note.id for note in page.items] == [newer, older]
    assert page.total_count == 2
    assert service.list_notes_by_tag(actor_id=ALICE, tag_name=" Study ", page=PageRequest()).total_count == 1
    assert service.list_notes_by_tag(actor_id=ALICE, tag_name="unknown", page=PageRequest()).total_count == 0


def test_tags_are_per_user_with_counts_in_code_point_order(service: NoteService) -> None:
    write(service, tags=["b", "a", "B"])
    write(service, tags=["a", "한국어"])
    write(service, actor_id=BOB, tags=["a", "z"])

    assert service.list_tags(actor_id=ALICE) == [
        Tag(name="B", note_count=1),
        Tag(name="a", note_count=2),
        Tag(name="b", note_count=1),
        Tag(name="한국어", note_count=1),
    ]
    assert service.list_tags(actor_id=BOB) == [Tag(name="a", note_count=1), Tag(name="z", note_count=1)]


def test_a_write_aborted_for_a_deadlock_is_run_again_from_the_start() -> None:
    uow = ConflictingNoteUnitOfWork(conflicts=0)
    service = NoteService(uow=uow, clock=FakeClock(), ids=SequentialIds())
    note_id = write(service, tags=["old"])
    uow.conflicts_left = WRITE_ATTEMPTS - 1

    updated = service.update_note(
        actor_id=ALICE, note_id=note_id, if_match={1}, changes=NoteChanges(title="once", tags=["new"])
    )

    assert updated.version == 2
    assert service.get_note(actor_id=ALICE, note_id=note_id) == updated
    assert service.list_tags(actor_id=ALICE) == [Tag(name="new", note_count=1)]
    assert uow.commits == 2


def test_create_and_delete_are_run_again_after_a_deadlock() -> None:
    uow = ConflictingNoteUnitOfWork(conflicts=1)
    service = NoteService(uow=uow, clock=FakeClock(), ids=SequentialIds())

    note_id = write(service, tags=["t"])
    uow.conflicts_left = 1
    service.delete_note(actor_id=ALICE, note_id=note_id)

    assert uow.notes_state == {}
    assert uow.tags_state == set()
    assert uow.commits == 2


def test_a_write_that_keeps_conflicting_gives_up_having_written_nothing() -> None:
    uow = ConflictingNoteUnitOfWork(conflicts=WRITE_ATTEMPTS)
    service = NoteService(uow=uow, clock=FakeClock(), ids=SequentialIds())

    with pytest.raises(NoteWriteConflict):
        write(service, tags=["t"])

    assert (uow.notes_state, uow.tags_state, uow.commits) == ({}, set(), 0)


def test_a_search_reads_the_callers_notes_only_and_follows_edits(service: NoteService, clock: FakeClock) -> None:
    older = write(service, title="PYTHON basics", tags=["study"])
    clock.advance(seconds=1)
    newer = write(service, content="python 제너레이터를", memo_date="20260101")
    write(service, actor_id=BOB, title="python")
    search = NoteSearch.parse(q="Python", sort=NoteSort.CREATED_ASC)

    assert [note.id for note in service.list_notes(actor_id=ALICE, page=PageRequest(), search=search).items] == [
        older,
        newer,
    ]
    service.update_note(actor_id=ALICE, note_id=older, changes=NoteChanges(title="Rust basics"))
    page = service.list_notes(actor_id=ALICE, page=PageRequest(), search=search)
    assert ([note.id for note in page.items], page.total_count) == ([newer], 1)
    by_tag = service.list_notes(actor_id=ALICE, page=PageRequest(), search=NoteSearch.parse(tags=["study"]))
    assert [note.id for note in by_tag.items] == [older]
