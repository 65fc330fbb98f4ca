"""In-memory fakes of the note app's ports, subclassing the real ones.

tests/integration/test_note_repository_contract.py runs the same assertions
against these and the SQLAlchemy versions, so they cannot drift apart.
"""

import copy
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime

from common.pagination import Page, PageRequest
from common.unit_of_work import WriteConflict
from mail.domain.outbox_email import DEFAULT_DELIVERY_POLICY, OutboxEmail
from note.application.ports import DigestRecipient, DigestRecipients, NoteUnitOfWork
from note.domain.note import Note
from note.domain.repository import (
    DigestWeekRepository,
    NoteImportRepository,
    NoteRepository,
    ReviewScheduleRepository,
    ShareRepository,
    TagRepository,
)
from note.domain.review import DueNote, ReviewSchedule
from note.domain.search import EVERY_NOTE, NoteSearch, searchable_text
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag, by_name
from tests.fakes import SequentialIds
from tests.fakes.mail import FakeOutbox

# A user's tags, as (user_id, name) pairs: they outlive their notes until removed.
TagKeys = set[tuple[str, str]]
# What imports brought in: (user_id, source id) -> note id.
ImportKeys = dict[tuple[str, str], str]


def _newest_first(notes: Collection[Note]) -> list[Note]:
    return sorted(notes, key=lambda note: (note.created_at, note.id), reverse=True)


def _in_order(notes: Collection[Note], search: NoteSearch) -> list[Note]:
    field = search.sort.field
    return sorted(notes, key=lambda note: (getattr(note, field), note.id), reverse=search.sort.descending)


def _kept_by(search: NoteSearch, note: Note) -> bool:
    """What SQL computes, computed in Python: the folded text holds every term, the note every tag."""
    text = searchable_text(title=note.title, content=note.content, tags=note.tags)
    return (
        all(term in text for term in search.terms)
        and all(name in note.tags for name in search.tags)
        and (search.memo_from is None or note.memo_date >= search.memo_from)
        and (search.memo_to is None or note.memo_date <= search.memo_to)
    )


class FakeNoteRepository(NoteRepository):
    def __init__(self, notes: dict[str, Note], tags: TagKeys) -> None:
        self._notes = notes
        self._tags = tags

    def add(self, note: Note) -> None:
        self._notes[note.id] = copy.deepcopy(note)
        self._tags.update((note.user_id, name) for name in note.tags)

    def add_many(self, notes: Sequence[Note]) -> None:
        for note in notes:
            self.add(note)

    def get(self, note_id: str) -> Note | None:
        note = self._notes.get(note_id)
        return copy.deepcopy(note) if note else None

    def owners(self, note_ids: Collection[str]) -> dict[str, str]:
        return {note_id: self._notes[note_id].user_id for note_id in note_ids if note_id in self._notes}

    def oldest_first(self, *, user_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Note]:
        mine = sorted(
            (note for note in self._notes.values() if note.user_id == user_id), key=lambda n: (n.created_at, n.id)
        )
        later = [note for note in mine if after is None or (note.created_at, note.id) > after]
        return copy.deepcopy(later[:limit])

    def with_tag_for_update(self, *, user_id: str, tag_name: str, also_locking: Collection[str] = ()) -> list[Note]:
        carrying = [note for note in self._notes.values() if note.user_id == user_id and tag_name in note.tags]
        if carrying:
            self._tags.update((user_id, name) for name in also_locking)
        return copy.deepcopy(sorted(carrying, key=lambda note: note.id))

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

    def page_for_user(self, *, user_id: str, page: PageRequest, search: NoteSearch = EVERY_NOTE) -> Page[Note]:
        return self._page(lambda note: note.user_id == user_id and _kept_by(search, note), page, search)

    def refresh_search_text(self, *, user_id: str, note_ids: Collection[str]) -> None:
        """Nothing to do: this fake folds each note's text afresh whenever it searches."""

    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        return self._page(lambda note: note.user_id == user_id and tag_name in note.tags, page, EVERY_NOTE)

    def with_memo_day(self, *, user_id: str, month: int, days: Collection[int], before_year: int) -> Sequence[Note]:
        found = [
            note
            for note in _newest_first(self._notes.values())
            if note.user_id == user_id
            and note.memo_date.month == month
            and note.memo_date.day in days
            and note.memo_date.year < before_year
        ]
        return copy.deepcopy(sorted(found, key=lambda note: note.memo_date, reverse=True))

    def count_by_memo_date(self, *, user_id: str, until: date) -> Sequence[tuple[date, int]]:
        counts: dict[date, int] = {}
        for note in self._notes.values():
            if note.user_id == user_id and note.memo_date <= until:
                counts[note.memo_date] = counts.get(note.memo_date, 0) + 1
        return sorted(counts.items())

    def with_memo_dates_between(self, *, user_id: str, first: date, last: date) -> Sequence[Note]:
        found = [note for note in self._notes.values() if note.user_id == user_id and first <= note.memo_date <= last]
        return copy.deepcopy(sorted(found, key=lambda note: (note.memo_date, note.created_at, note.id)))

    def count_for_user(self, user_id: str) -> int:
        return sum(1 for note in self._notes.values() if note.user_id == user_id)

    def _page(self, keep: Callable[[Note], bool], page: PageRequest, search: NoteSearch) -> Page[Note]:
        chosen = _in_order([note for note in self._notes.values() if keep(note)], search)
        items = copy.deepcopy(chosen[page.offset : page.offset + page.limit])
        return Page(items=items, total_count=len(chosen), page=page.page)


class FakeReviewScheduleRepository(ReviewScheduleRepository):
    """Schedules by note id; a schedule whose note is gone is as gone (the cascade)."""

    def __init__(self, notes: dict[str, Note], schedules: dict[str, ReviewSchedule]) -> None:
        self._notes = notes
        self._schedules = schedules

    def add(self, schedule: ReviewSchedule) -> None:
        self._schedules[schedule.note_id] = copy.deepcopy(schedule)

    def add_many(self, schedules: Sequence[ReviewSchedule]) -> None:
        for schedule in schedules:
            self.add(schedule)

    def get_for_update(self, note_id: str) -> ReviewSchedule | None:
        schedule = self._schedules.get(note_id) if note_id in self._notes else None
        return copy.deepcopy(schedule)

    def save(self, schedule: ReviewSchedule) -> None:
        self._schedules[schedule.note_id] = copy.deepcopy(schedule)

    def due_for_user(self, *, user_id: str, now: datetime, limit: int) -> Sequence[DueNote]:
        due = sorted(self._due(user_id, now), key=lambda schedule: (schedule.due_at, schedule.note_id))[:limit]
        return [DueNote(note=copy.deepcopy(self._notes[s.note_id]), schedule=copy.deepcopy(s)) for s in due]

    def count_due(self, *, user_id: str, now: datetime) -> int:
        return len(self._due(user_id, now))

    def _due(self, user_id: str, now: datetime) -> list[ReviewSchedule]:
        return [
            schedule
            for note_id, schedule in self._schedules.items()
            if note_id in self._notes and self._notes[note_id].user_id == user_id and schedule.is_due(now)
        ]


class FakeTagRepository(TagRepository):
    def __init__(self, notes: dict[str, Note], tags: TagKeys) -> None:
        self._notes = notes
        self._tags = tags

    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        return by_name(
            Tag(name=name, note_count=self._note_count(user_id, name)) for owner, name in self._tags if owner == user_id
        )

    def get(self, *, user_id: str, name: str) -> Tag | None:
        if (user_id, name) not in self._tags:
            return None
        return Tag(name=name, note_count=self._note_count(user_id, name))

    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        for name in names:
            if self._note_count(user_id, name) == 0:
                self._tags.discard((user_id, name))

    def _note_count(self, user_id: str, name: str) -> int:
        return sum(1 for note in self._notes.values() if note.user_id == user_id and name in note.tags)


class FakeDigestRecipients(DigestRecipients):
    """``accounts``: user id -> (email, name, timezone) of the accounts with ``digest: weekly``."""

    def __init__(self, accounts: dict[str, tuple[str, str, str]], weeks: dict[str, str]) -> None:
        self._accounts = accounts
        self._weeks = weeks

    def weekly(self, *, after_id: str | None, limit: int) -> Sequence[DigestRecipient]:
        ids = sorted(user_id for user_id in self._accounts if after_id is None or user_id > after_id)
        return [self._recipient(user_id) for user_id in ids[:limit]]

    def get(self, user_id: str) -> DigestRecipient | None:
        return self._recipient(user_id) if user_id in self._accounts else None

    def _recipient(self, user_id: str) -> DigestRecipient:
        email, name, timezone = self._accounts[user_id]
        return DigestRecipient(
            user_id=user_id, email=email, name=name, timezone=timezone, last_week=self._weeks.get(user_id)
        )


class FakeDigestWeekRepository(DigestWeekRepository):
    def __init__(self, weeks: dict[str, str]) -> None:
        self._weeks = weeks

    def record(self, *, user_id: str, week: str) -> None:
        self._weeks[user_id] = week


class FakeNoteImportRepository(NoteImportRepository):
    def __init__(self, notes: dict[str, Note], imports: ImportKeys) -> None:
        self._notes = notes
        self._imports = imports

    def already_imported(self, *, user_id: str, source_ids: Collection[str]) -> set[str]:
        # An imported note that was deleted is forgotten, as ON DELETE CASCADE forgets it.
        return {source_id for source_id in source_ids if self._imports.get((user_id, source_id)) in self._notes}

    def remember(self, *, user_id: str, imported: Mapping[str, str]) -> None:
        self._imports.update(((user_id, source_id), note_id) for source_id, note_id in imported.items())


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

    ``accounts`` are the weekly-digest accounts (the user app's, read-only here);
    ``outbox_state`` the outbox table the digest queues into; ``authors`` (user id to name)
    is the fake's users table, which the shares read.
    """

    def __init__(self) -> None:
        self.notes_state: dict[str, Note] = {}
        self.tags_state: TagKeys = set()
        self.schedules_state: dict[str, ReviewSchedule] = {}
        self.weeks_state: dict[str, str] = {}
        self.outbox_state: dict[str, OutboxEmail] = {}
        self.accounts: dict[str, tuple[str, str, str]] = {}
        self._outbox_ids = SequentialIds()
        self.imports_state: ImportKeys = {}
        self.shares_state: dict[str, Share] = {}
        self.authors: dict[str, str] = {}
        self.commits = 0

    def __enter__(self) -> "FakeNoteUnitOfWork":
        self._start_work()
        return self

    def commit(self) -> None:
        self.notes_state = copy.deepcopy(self._notes_work)
        self.tags_state = set(self._tags_work)
        self.schedules_state = copy.deepcopy(self._schedules_work)
        self.weeks_state = dict(self._weeks_work)
        self.outbox_state = copy.deepcopy(self._outbox_work)
        self.imports_state = dict(self._imports_work)
        self.shares_state = dict(self._shares_work)
        self.commits += 1

    def rollback(self) -> None:
        self._start_work()

    def _start_work(self) -> None:
        self._notes_work = copy.deepcopy(self.notes_state)
        self._tags_work = set(self.tags_state)
        self._schedules_work = copy.deepcopy(self.schedules_state)
        self.notes = FakeNoteRepository(self._notes_work, self._tags_work)
        self.tags = FakeTagRepository(self._notes_work, self._tags_work)
        self.schedules = FakeReviewScheduleRepository(self._notes_work, self._schedules_work)
        self._weeks_work = dict(self.weeks_state)
        self._outbox_work = copy.deepcopy(self.outbox_state)
        self.digest_recipients = FakeDigestRecipients(self.accounts, self._weeks_work)
        self.digest_weeks = FakeDigestWeekRepository(self._weeks_work)
        self.outbox = FakeOutbox(self._outbox_work, ids=self._outbox_ids, policy=DEFAULT_DELIVERY_POLICY)
        self._imports_work = dict(self.imports_state)
        self._shares_work = dict(self.shares_state)
        self.imports = FakeNoteImportRepository(self._notes_work, self._imports_work)
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
