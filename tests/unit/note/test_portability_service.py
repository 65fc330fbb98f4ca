"""Export, import and tag changes (SPEC §12) with in-memory fakes: the use cases' rules, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from note.application.commands import NoteDraft, NoteToImport
from note.application.note_service import NoteService
from note.application.portability_service import EXPORT_BATCH, MAX_IMPORTED_NOTES, PortabilityService
from note.domain.errors import ImportTooLarge, InvalidNoteInput, TagNotFound
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.note import FakeNoteUnitOfWork

ALICE = "01J000000000000000000ALICE"
BOB = "01J00000000000000000000BOB"
KEPT_ID = "01KZZZZZZZZZZZZZZZZZZZZZZZ"
WHEN = datetime(2020, 2, 29, 12, 0, 0, 654321, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeNoteUnitOfWork:
    return FakeNoteUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def portability(uow: FakeNoteUnitOfWork, clock: FakeClock) -> PortabilityService:
    return PortabilityService(uow=uow, clock=clock, ids=SequentialIds())


@pytest.fixture
def notes(uow: FakeNoteUnitOfWork, clock: FakeClock) -> NoteService:
    return NoteService(uow=uow, clock=clock, ids=SequentialIds())


def given(index: int, **fields: object) -> NoteToImport:
    values: dict = {
        "location": ("notes", index),
        "source_id": None,
        "title": f"imported {index}",
        "content": "body",
        "memo_date": "20261127",
        "tags": ["a"],
    }
    values.update(fields)
    return NoteToImport(**values)


def test_an_import_keeps_its_timestamps_tags_and_unused_ulid_ids(portability: PortabilityService) -> None:
    outcome = portability.import_notes(
        actor_id=ALICE,
        notes=[given(0, source_id=KEPT_ID, tags=["z", "a", "z"], created_at=WHEN, updated_at=WHEN + timedelta(1))],
    )

    assert (outcome.created, outcome.skipped) == (1, 0)
    [note] = list(portability.export_notes(actor_id=ALICE))
    assert (note.id, note.tags, note.created_at, note.updated_at) == (KEPT_ID, ["z", "a"], WHEN, WHEN + timedelta(1))


def test_without_timestamps_a_note_is_created_now(portability: PortabilityService, clock: FakeClock) -> None:
    portability.import_notes(actor_id=ALICE, notes=[given(0)])

    [note] = list(portability.export_notes(actor_id=ALICE))
    assert note.created_at == note.updated_at == clock.now()


def test_importing_the_same_notes_twice_creates_nothing_new(portability: PortabilityService) -> None:
    batch = [given(0, source_id=KEPT_ID), given(1, source_id="malformed"), given(2, source_id="malformed")]

    first = portability.import_notes(actor_id=ALICE, notes=batch)
    again = portability.import_notes(actor_id=ALICE, notes=batch)

    assert (first.created, first.skipped) == (2, 1)  # the second "malformed" repeats the first
    assert (again.created, again.skipped) == (0, 3)
    ids = [note.id for note in portability.export_notes(actor_id=ALICE)]
    assert len(ids) == 2
    assert KEPT_ID in ids
    assert "malformed" not in ids


def test_another_users_id_gets_a_new_id_and_is_remembered(
    portability: PortabilityService, uow: FakeNoteUnitOfWork
) -> None:
    portability.import_notes(actor_id=BOB, notes=[given(0, source_id=KEPT_ID)])

    first = portability.import_notes(actor_id=ALICE, notes=[given(0, source_id=KEPT_ID)])
    again = portability.import_notes(actor_id=ALICE, notes=[given(0, source_id=KEPT_ID)])

    [alices] = list(portability.export_notes(actor_id=ALICE))
    assert alices.id != KEPT_ID
    assert uow.notes_state[KEPT_ID].user_id == BOB
    assert (first.created, again.created, again.skipped) == (1, 0, 1)


def test_one_bad_note_refuses_the_import_naming_it_and_writes_nothing(
    portability: PortabilityService, uow: FakeNoteUnitOfWork
) -> None:
    batch = [given(0), given(1, tags=["ok", "a/b"]), given(2, title="")]

    with pytest.raises(InvalidNoteInput) as refused:
        portability.import_notes(actor_id=ALICE, notes=batch)

    assert refused.value.location == ("notes", 1)
    assert "'/'" in refused.value.message
    assert uow.commits == 0
    assert uow.notes_state == {}


@pytest.mark.parametrize("memo_date", ["2026-11-27", "20230229"])
def test_a_bad_memo_date_names_its_note(portability: PortabilityService, memo_date: str) -> None:
    with pytest.raises(InvalidNoteInput) as refused:
        portability.import_notes(actor_id=ALICE, notes=[given(0), given(1, location=("x.md",), memo_date=memo_date)])

    assert refused.value.location == ("x.md",)


def test_more_than_the_most_notes_is_too_large(portability: PortabilityService, uow: FakeNoteUnitOfWork) -> None:
    with pytest.raises(ImportTooLarge):
        portability.import_notes(actor_id=ALICE, notes=[given(0)] * (MAX_IMPORTED_NOTES + 1))

    assert uow.commits == 0


def test_an_export_reads_every_note_oldest_first_across_batches(portability: PortabilityService) -> None:
    count = EXPORT_BATCH * 2 + 1
    start = datetime(2026, 1, 1, tzinfo=UTC)
    portability.import_notes(
        actor_id=ALICE, notes=[given(n, created_at=start + timedelta(seconds=n // 3)) for n in range(count)]
    )
    portability.import_notes(actor_id=BOB, notes=[given(0)])

    exported = list(portability.export_notes(actor_id=ALICE))

    assert len(exported) == count
    assert exported == sorted(exported, key=lambda note: (note.created_at, note.id))


def test_renaming_onto_a_tag_merges_keeping_the_first_place(notes: NoteService, clock: FakeClock) -> None:
    both = notes.create_note(
        actor_id=ALICE, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["new", "x", "old"])
    )
    only_old = notes.create_note(
        actor_id=ALICE, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["x", "old"])
    )
    only_new = notes.create_note(
        actor_id=ALICE, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["new"])
    )
    clock.advance(minutes=1)

    tag = notes.rename_tag(actor_id=ALICE, tag_name=" old ", new_name="new ")

    assert (tag.name, tag.note_count) == ("new", 3)
    after = {note.id: notes.get_note(actor_id=ALICE, note_id=note.id) for note in (both, only_old, only_new)}
    assert after[both.id].tags == ["new", "x"]
    assert after[only_old.id].tags == ["x", "new"]
    assert after[only_new.id] == only_new
    for changed in (both, only_old):
        assert (after[changed.id].version, after[changed.id].updated_at) == (2, clock.now())
    assert [t.name for t in notes.list_tags(actor_id=ALICE)] == ["new", "x"]


def test_a_tag_change_of_an_unknown_or_another_users_tag_is_not_found(notes: NoteService) -> None:
    notes.create_note(actor_id=BOB, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["bobs"]))

    with pytest.raises(TagNotFound):
        notes.rename_tag(actor_id=ALICE, tag_name="bobs", new_name="mine")
    with pytest.raises(TagNotFound):
        notes.delete_tag(actor_id=ALICE, tag_name="bobs")

    assert [t.name for t in notes.list_tags(actor_id=BOB)] == ["bobs"]


def test_an_invalid_new_name_is_refused(notes: NoteService) -> None:
    notes.create_note(actor_id=ALICE, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["a"]))

    with pytest.raises(InvalidNoteInput):
        notes.rename_tag(actor_id=ALICE, tag_name="a", new_name="a/b")


def test_deleting_a_tag_takes_it_off_its_notes_which_stay(notes: NoteService, clock: FakeClock) -> None:
    note = notes.create_note(
        actor_id=ALICE, draft=NoteDraft(title="t", content="c", memo_date="20261127", tags=["a", "b"])
    )
    clock.advance(minutes=1)

    notes.delete_tag(actor_id=ALICE, tag_name="a")

    after = notes.get_note(actor_id=ALICE, note_id=note.id)
    assert (after.tags, after.version, after.updated_at) == (["b"], 2, clock.now())
    assert [t.name for t in notes.list_tags(actor_id=ALICE)] == ["b"]
