"""Repository interfaces of the note app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import date, datetime

from common.pagination import Page, PageRequest
from note.domain.note import Note
from note.domain.review import DueNote, ReviewSchedule
from note.domain.tag import Tag


class NoteRepository(ABC):
    """Notes with their tags. Listings are newest created first, ties broken by id (descending)."""

    @abstractmethod
    def add(self, note: Note) -> None:
        """Stage a new note; its user's tags are created as needed."""

    @abstractmethod
    def get(self, note_id: str) -> Note | None: ...

    @abstractmethod
    def get_for_update(self, note_id: str) -> Note | None:
        """Like ``get``, and the note stays locked until the transaction ends,
        so a read-check-write on it cannot interleave with another."""

    @abstractmethod
    def update(self, note: Note, *, expected_version: int) -> bool:
        """Stage ``note`` over the stored one if that is still at ``expected_version``.

        ``False`` (and nothing staged) when the stored version differs: the
        check and the write are one atomic step in the database.
        """

    @abstractmethod
    def delete(self, note: Note) -> None:
        """Stage the removal of a note (as read from this repository) with its tag links.

        Its tags stay, even unused: ``TagRepository.remove_unused`` removes them."""

    @abstractmethod
    def page_for_user(self, *, user_id: str, page: PageRequest) -> Page[Note]:
        """A page of the user's notes, and how many the user has in all."""

    @abstractmethod
    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        """A page of the user's notes carrying the tag named exactly ``tag_name``, and how many there are."""

    @abstractmethod
    def with_memo_day(self, *, user_id: str, month: int, days: Collection[int], before_year: int) -> Sequence[Note]:
        """The user's notes whose ``memo_date`` falls on ``month`` and one of ``days`` in a year
        before ``before_year``: newest ``memo_date`` first, then newest created first."""

    @abstractmethod
    def count_by_memo_date(self, *, user_id: str, until: date) -> Sequence[tuple[date, int]]:
        """Each distinct ``memo_date`` of the user's notes up to ``until`` with its number of notes, oldest first."""

    @abstractmethod
    def with_memo_dates_between(self, *, user_id: str, first: date, last: date) -> Sequence[Note]:
        """The user's notes with ``first <= memo_date <= last``, oldest ``memo_date`` first."""

    @abstractmethod
    def count_for_user(self, user_id: str) -> int: ...


class ReviewScheduleRepository(ABC):
    """One schedule per note; it goes with its note (``ON DELETE CASCADE``)."""

    @abstractmethod
    def add(self, schedule: ReviewSchedule) -> None: ...

    @abstractmethod
    def get_for_update(self, note_id: str) -> ReviewSchedule | None:
        """The schedule, locked until the transaction ends, so two reviews of a note queue."""

    @abstractmethod
    def save(self, schedule: ReviewSchedule) -> None: ...

    @abstractmethod
    def due_for_user(self, *, user_id: str, now: datetime, limit: int) -> Sequence[DueNote]:
        """At most ``limit`` of the user's notes due at ``now``, most overdue first (ties by note id)."""

    @abstractmethod
    def count_due(self, *, user_id: str, now: datetime) -> int: ...


class TagRepository(ABC):
    @abstractmethod
    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        """The user's tags with their note counts, by name in code-point order."""

    @abstractmethod
    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        """Stage the removal of those of the user's ``names`` that no note carries any more."""


class DigestWeekRepository(ABC):
    """The last week whose digest each account has had (or had nothing to show for)."""

    @abstractmethod
    def record(self, *, user_id: str, week: str) -> None:
        """Stage ``week`` as the user's last digest week, whether a row exists or not."""
