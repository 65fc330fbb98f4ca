"""Repository interfaces of the note app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import datetime

from common.pagination import Page, PageRequest
from note.domain.note import Note
from note.domain.share import Share, SharedNote
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


class TagRepository(ABC):
    @abstractmethod
    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        """The user's tags with their note counts, by name in code-point order."""

    @abstractmethod
    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        """Stage the removal of those of the user's ``names`` that no note carries any more."""


class ShareRepository(ABC):
    """Public links, at most one per note; a note's link goes when the note (or its account) does."""

    @abstractmethod
    def replace(self, share: Share) -> None:
        """Stage ``share`` as its note's link; the note's earlier link, if any, stops working."""

    @abstractmethod
    def get_for_note(self, note_id: str) -> Share | None:
        """The note's link, expired or not (``None`` when there is none)."""

    @abstractmethod
    def delete_for_note(self, note_id: str) -> None:
        """Stage the removal of the note's link, if it has one."""

    @abstractmethod
    def find_shared(self, *, token_hash: str, now: datetime) -> SharedNote | None:
        """The note that the link with this token hash shows, if that link works at ``now``."""
