"""ShareService with in-memory fakes: the sharing use cases' rules, no database, no app."""

from datetime import timedelta

import pytest

from common.unit_of_work import WRITE_ATTEMPTS
from note.application.share_service import ShareService
from note.domain.errors import InvalidNoteInput, NoteNotFound, NoteWriteConflict, SharedNoteNotFound, ShareNotFound
from note.domain.note import Note
from note.domain.share import SHARE_TOKEN_BYTES, share_token_hash
from tests.fakes import FakeClock
from tests.fakes.note import ConflictingNoteUnitOfWork, FakeNoteUnitOfWork

ALICE = "01J000000000000000000ALICE"
BOB = "01J00000000000000000000BOB"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow() -> FakeNoteUnitOfWork:
    uow = FakeNoteUnitOfWork()
    uow.authors.update({ALICE: "Alice", BOB: "Bob"})
    return uow


@pytest.fixture
def service(uow: FakeNoteUnitOfWork, clock: FakeClock) -> ShareService:
    return ShareService(uow=uow, clock=clock)


@pytest.fixture
def note(uow: FakeNoteUnitOfWork, clock: FakeClock) -> Note:
    note = Note.create(
        note_id="01J0000000000000000000NOTE",
        user_id=ALICE,
        title="공유",
        content="# shared",
        memo_date=clock.now().date(),
        tags=["python"],
        now=clock.now(),
    )
    with uow:
        uow.notes.add(note)
        uow.commit()
    return note


def test_sharing_makes_a_long_random_link(service: ShareService, note: Note, clock: FakeClock) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)

    assert len(share.token) >= SHARE_TOKEN_BYTES * 4 // 3
    assert (share.note_id, share.created_at, share.expires_at) == (note.id, clock.now(), None)
    assert service.get_share(actor_id=ALICE, note_id=note.id) == share


def test_the_link_shows_the_note_by_its_authors_name(service: ShareService, note: Note) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=3)

    shared = service.read_shared_note(token=share.token)

    assert (shared.title, shared.content, shared.tags, shared.author) == ("공유", "# shared", ["python"], "Alice")


def test_a_new_link_replaces_the_old(service: ShareService, note: Note, uow: FakeNoteUnitOfWork) -> None:
    old = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)
    new = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)

    assert old.token != new.token
    with pytest.raises(SharedNoteNotFound):
        service.read_shared_note(token=old.token)
    assert list(uow.shares_state.values()) == [new]


def test_a_link_expires_after_its_days(service: ShareService, note: Note, clock: FakeClock) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=2)
    assert share.expires_at == share.created_at + timedelta(days=2)

    clock.advance(days=2)

    with pytest.raises(SharedNoteNotFound):
        service.read_shared_note(token=share.token)
    with pytest.raises(ShareNotFound):
        service.get_share(actor_id=ALICE, note_id=note.id)
    with pytest.raises(ShareNotFound):
        service.unshare_note(actor_id=ALICE, note_id=note.id)


@pytest.mark.parametrize("days", [0, 366, -5])
def test_a_bad_expiry_changes_nothing(service: ShareService, note: Note, uow: FakeNoteUnitOfWork, days: int) -> None:
    with pytest.raises(InvalidNoteInput):
        service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=days)

    assert uow.shares_state == {}


def test_another_users_note_is_not_found(service: ShareService, note: Note, uow: FakeNoteUnitOfWork) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)

    for use_case in (
        lambda: service.share_note(actor_id=BOB, note_id=note.id, expires_in_days=None),
        lambda: service.get_share(actor_id=BOB, note_id=note.id),
        lambda: service.unshare_note(actor_id=BOB, note_id=note.id),
    ):
        with pytest.raises(NoteNotFound):
            use_case()
    assert list(uow.shares_state.values()) == [share]


def test_unsharing_ends_the_link(service: ShareService, note: Note, uow: FakeNoteUnitOfWork) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)

    service.unshare_note(actor_id=ALICE, note_id=note.id)

    assert uow.shares_state == {}
    with pytest.raises(SharedNoteNotFound):
        service.read_shared_note(token=share.token)
    with pytest.raises(ShareNotFound):
        service.unshare_note(actor_id=ALICE, note_id=note.id)


def test_every_absence_is_the_same_error(service: ShareService, note: Note, uow: FakeNoteUnitOfWork) -> None:
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)
    del uow.authors[ALICE]  # the account is gone

    errors = []
    for token in (share.token, "never-issued", share_token_hash(share.token)):
        with pytest.raises(SharedNoteNotFound) as raised:
            service.read_shared_note(token=token)
        errors.append(raised.value.message)

    assert len(set(errors)) == 1


def test_a_write_aborted_by_a_deadlock_runs_again(note: Note, clock: FakeClock) -> None:
    uow = ConflictingNoteUnitOfWork(conflicts=0)
    uow.authors[ALICE] = "Alice"
    with uow:
        uow.notes.add(note)
        uow.commit()
    service = ShareService(uow=uow, clock=clock)

    uow.conflicts_left = WRITE_ATTEMPTS - 1
    share = service.share_note(actor_id=ALICE, note_id=note.id, expires_in_days=None)
    assert service.read_shared_note(token=share.token).title == note.title

    uow.conflicts_left = WRITE_ATTEMPTS
    with pytest.raises(NoteWriteConflict):
        service.unshare_note(actor_id=ALICE, note_id=note.id)
    assert service.get_share(actor_id=ALICE, note_id=note.id) == share
