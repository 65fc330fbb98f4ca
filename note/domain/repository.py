"""Repository interfaces of the note app. Absent means ``None``; nothing here commits."""

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from common.pagination import Page, PageRequest
from note.domain.note import Note
from note.domain.search import EVERY_NOTE, NoteSearch
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag


class NoteRepository(ABC):
    """Notes with their tags. Listings are newest created first, ties broken by id (descending)."""

    @abstractmethod
    def add(self, note: Note) -> None:
        """Stage a new note; its user's tags are created as needed."""

    @abstractmethod
    def add_many(self, notes: Sequence[Note]) -> None:
        """Stage new notes (of one user) in batches: a few statements per batch, not per note."""

    @abstractmethod
    def get(self, note_id: str) -> Note | None: ...

    @abstractmethod
    def owners(self, note_ids: Collection[str]) -> dict[str, str]:
        """The user id of each of ``note_ids`` that exists (whoever it belongs to)."""

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
    def page_for_user(self, *, user_id: str, page: PageRequest, search: NoteSearch = EVERY_NOTE) -> Page[Note]:
        """A page of the user's notes that ``search`` keeps, in its order, and how many it keeps in all.

        Only the user's notes are read: the cost follows their number, never other users'.
        """

    @abstractmethod
    def refresh_search_text(self, *, user_id: str, note_ids: Collection[str]) -> None:
        """Stage a fresh folded search text for those of the user's notes named, from what they hold now.

        ``add`` and ``update`` keep it themselves; a write that changes a note's title, content or tag
        names some other way (renaming, merging or deleting a tag) calls this in its own transaction.
        """

    @abstractmethod
    def oldest_first(self, *, user_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Note]:
        """Up to ``limit`` of the user's notes, oldest created first (ties by id), after the
        ``(created_at, id)`` given: a keyset page, as cheap at the end of the list as at its start."""

    @abstractmethod
    def with_tag_for_update(self, *, user_id: str, tag_name: str, also_locking: Collection[str] = ()) -> list[Note]:
        """The user's notes carrying the tag named ``tag_name``, locked until the transaction ends,
        with every tag they carry and the tags named ``also_locking`` locked too (created if missing).

        Notes are locked first and then tags, as every note write locks them, so a tag change
        never deadlocks with a note write. No notes: nothing is locked or created.
        """

    @abstractmethod
    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        """A page of the user's notes carrying the tag named exactly ``tag_name``, and how many there are."""


class TagRepository(ABC):
    @abstractmethod
    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        """The user's tags with their note counts, by name in code-point order."""

    @abstractmethod
    def get(self, *, user_id: str, name: str) -> Tag | None:
        """The user's tag named exactly ``name``, with its note count."""

    @abstractmethod
    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        """Stage the removal of those of the user's ``names`` that no note carries any more."""


class NoteImportRepository(ABC):
    """What imports brought in, per user: the id a file gave a note, and the note it became."""

    @abstractmethod
    def already_imported(self, *, user_id: str, source_ids: Collection[str]) -> set[str]:
        """Those of ``source_ids`` an earlier import of the user brought in (and whose note still exists)."""

    @abstractmethod
    def remember(self, *, user_id: str, imported: Mapping[str, str]) -> None:
        """Stage ``{source id: new note id}`` pairs of this import."""


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
