"""In-memory fakes of the note app's ports, subclassing the real ones.

tests/integration/test_note_repository_contract.py runs the same assertions
against these and the SQLAlchemy versions, so they cannot drift apart.
"""

import copy
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from common.pagination import Page, PageRequest
from common.unit_of_work import WriteConflict
from note.application.ports import NoteUnitOfWork
from note.domain.note import Note
from note.domain.repository import NoteRepository, ShareRepository, TagRepository
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag, by_name

# A user's tags, as (user_id, name) pairs: they outlive their notes until removed.
TagKeys = set[tuple[str, str]]


def _newest_first(notes: Collection[Note]) -> list[Note]:
    return sorted(notes, key=lambda note: (note.created_at, note.id), reverse=True)


class FakeNoteRepository(NoteRepository):
    def __init__(self, notes: dict[str, Note], tags: TagKeys) -> None:
        self._notes = notes
        self._tags = tags

    def add(self, note: Note) -> None:
        self._notes[note.id] = copy.deepcopy(note)
        self._tags.update((note.user_id, name) for name in note.tags)

    def get(self, note_id: str) -> Note | None:
        note = self._notes.get(note_id)
        return copy.deepcopy(note) if note else None

    def get_for_update(self, note_id: str) -> Note | None:
        return self.get(note_id)

    def update(self, note: Note, *, expected_version: int) -> bool:
        stored = self._notes.get(note.id)
        if stored is None or stored.version != expected_version:
            return False
        self.add(note)
        return True

    def delete(self, note: Note) -> None:
        self._notes.pop(note.id, None)

    def page_for_user(self, *, user_id: str, page: PageRequest) -> Page[Note]:
        return self._page(lambda note: note.user_id == user_id, page)

    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        return self._page(lambda note: note.user_id == user_id and tag_name in note.tags, page)

    def _page(self, keep: Callable[[Note], bool], page: PageRequest) -> Page[Note]:
        chosen = _newest_first([note for note in self._notes.values() if keep(note)])
        items = copy.deepcopy(chosen[page.offset : page.offset + page.limit])
        return Page(items=items, total_count=len(chosen), page=page.page)


class FakeTagRepository(TagRepository):
    def __init__(self, notes: dict[str, Note], tags: TagKeys) -> None:
        self._notes = notes
        self._tags = tags

    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        return by_name(
            Tag(name=name, note_count=self._note_count(user_id, name)) for owner, name in self._tags if owner == user_id
        )

    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        for name in names:
            if self._note_count(user_id, name) == 0:
                self._tags.discard((user_id, name))

    def _note_count(self, user_id: str, name: str) -> int:
        return sum(1 for note in self._notes.values() if note.user_id == user_id and name in note.tags)


class FakeShareRepository(ShareRepository):
    """Shares by note id. ``authors`` stands in for the users table: a note whose user has no
    name there belongs to a deleted account, whose notes (and so shares) are gone."""

    def __init__(self, shares: dict[str, Share], notes: dict[str, Note], authors: dict[str, str]) -> None:
        self._shares = shares
        self._notes = notes
        self._authors = authors

    def replace(self, share: Share) -> None:
        self._shares[share.note_id] = share

    def get_for_note(self, note_id: str) -> Share | None:
        return self._live().get(note_id)

    def delete_for_note(self, note_id: str) -> None:
        self._shares.pop(note_id, None)

    def find_shared(self, *, token_hash: str, now: datetime) -> SharedNote | None:
        for share in self._live().values():
            if share.token_hash == token_hash and share.is_active(now):
                note = self._notes[share.note_id]
                return SharedNote(
                    title=note.title,
                    content=note.content,
                    memo_date=note.memo_date,
                    tags=list(note.tags),
                    author=self._authors[note.user_id],
                    updated_at=note.updated_at,
                )
        return None

    def _live(self) -> dict[str, Share]:
        """Shares whose note and account still exist (the database cascades; here they are skipped)."""
        return {
            note_id: share
            for note_id, share in self._shares.items()
            if note_id in self._notes and self._notes[note_id].user_id in self._authors
        }


class FakeNoteUnitOfWork(NoteUnitOfWork):
    """Changes reach the shared state only on ``commit``; anything else is rolled back.

    ``authors`` (user id to name) is the fake's users table, which the shares read.
    """

    def __init__(self) -> None:
        self.notes_state: dict[str, Note] = {}
        self.tags_state: TagKeys = set()
        self.shares_state: dict[str, Share] = {}
        self.authors: dict[str, str] = {}
        self.commits = 0

    def __enter__(self) -> "FakeNoteUnitOfWork":
        self._start_work()
        return self

    def commit(self) -> None:
        self.notes_state = copy.deepcopy(self._notes_work)
        self.tags_state = set(self._tags_work)
        self.shares_state = dict(self._shares_work)
        self.commits += 1

    def rollback(self) -> None:
        self._start_work()

    def _start_work(self) -> None:
        self._notes_work = copy.deepcopy(self.notes_state)
        self._tags_work = set(self.tags_state)
        self._shares_work = dict(self.shares_state)
        self.notes = FakeNoteRepository(self._notes_work, self._tags_work)
        self.tags = FakeTagRepository(self._notes_work, self._tags_work)
        self.shares = FakeShareRepository(self._shares_work, self._notes_work, self.authors)


class ConflictingNoteUnitOfWork(FakeNoteUnitOfWork):
    """Aborts the first ``conflicts`` commits the way the database breaks a deadlock."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts_left = conflicts

    def commit(self) -> None:
        if self.conflicts_left:
            self.conflicts_left -= 1
            raise WriteConflict()
        super().commit()
