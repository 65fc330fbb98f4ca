"""The note app's use cases: one public method each, one unit of work each."""

import logging
from collections.abc import Collection

from common.clock import Clock
from common.ids import IdGenerator
from common.pagination import Page, PageRequest
from common.unit_of_work import retry_on_conflict
from note.application.commands import NoteChanges, NoteDraft
from note.application.ports import NoteUnitOfWork
from note.domain.errors import NoteNotFound, NoteVersionMismatch, NoteWriteConflict, TagNotFound
from note.domain.note import Note
from note.domain.review import ReviewSchedule
from note.domain.search import EVERY_NOTE, NoteSearch
from note.domain.tag import Tag, check_tag_name

logger = logging.getLogger(__name__)


class NoteService:
    def __init__(self, *, uow: NoteUnitOfWork, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    def create_note(self, *, actor_id: str, draft: NoteDraft) -> Note:
        """Every rule is checked before the transaction opens.

        The note's review schedule is written in the same transaction: first due a day later."""
        note = draft.to_note(note_id=self._ids.new_id(), user_id=actor_id, now=self._clock.now())

        def create() -> Note:
            with self._uow as uow:
                uow.notes.add(note)
                uow.schedules.add(ReviewSchedule.first(note_id=note.id, created_at=note.created_at))
                uow.commit()
            return note

        retry_on_conflict(create, exhausted=NoteWriteConflict)
        logger.info("note created", extra={"note_id": note.id})
        return note

    def get_note(self, *, actor_id: str, note_id: str) -> Note:
        with self._uow as uow:
            note = uow.notes.get(note_id)
        return self._owned(note, actor_id)

    def update_note(
        self,
        *,
        actor_id: str,
        note_id: str,
        changes: NoteChanges,
        if_match: Collection[int] | None = None,
    ) -> Note:
        """Change the fields ``changes`` gives (``None`` = unchanged; ``tags=[]`` clears).

        ``if_match``: the versions the caller accepts as current (``None``: any).
        The note is locked while it is checked and written, and the write
        itself is conditional on the version, so of several writers holding
        the same version exactly one succeeds; the others get
        ``NoteVersionMismatch`` and change nothing. Tags the change leaves
        unused are removed in the same transaction.
        """
        checked = changes.checked()  # up front, so bad input never opens a transaction

        def update() -> Note:
            with self._uow as uow:
                note = self._owned(uow.notes.get_for_update(note_id), actor_id)
                self._check_version(note, if_match)
                previous_version, previous_tags = note.version, list(note.tags)
                checked.apply_to(note, now=self._clock.now())
                if not uow.notes.update(note, expected_version=previous_version):
                    raise NoteVersionMismatch()
                uow.tags.remove_unused(user_id=actor_id, names=note.tags_dropped_since(previous_tags))
                uow.commit()
            return note

        return retry_on_conflict(update, exhausted=NoteWriteConflict)

    def delete_note(self, *, actor_id: str, note_id: str, if_match: Collection[int] | None = None) -> None:
        """Delete the note, and the tags no other note of the caller carries, in one transaction."""

        def delete() -> None:
            with self._uow as uow:
                note = self._owned(uow.notes.get_for_update(note_id), actor_id)
                self._check_version(note, if_match)
                uow.notes.delete(note)
                uow.tags.remove_unused(user_id=actor_id, names=note.tags)
                uow.commit()

        retry_on_conflict(delete, exhausted=NoteWriteConflict)
        logger.info("note deleted", extra={"note_id": note_id})

    def list_notes(self, *, actor_id: str, page: PageRequest, search: NoteSearch = EVERY_NOTE) -> Page[Note]:
        """The caller's notes that ``search`` keeps (all of them by default), newest created first unless
        it says otherwise; ``total_count`` counts the matches."""
        with self._uow as uow:
            return uow.notes.page_for_user(user_id=actor_id, page=page, search=search)

    def list_notes_by_tag(self, *, actor_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        """The caller's notes carrying ``tag_name`` (trimmed like a stored name); an unknown tag has none."""
        name = tag_name.strip()
        with self._uow as uow:
            return uow.notes.page_for_tag(user_id=actor_id, tag_name=name, page=page)

    def list_tags(self, *, actor_id: str) -> list[Tag]:
        """The caller's tags with note counts, by name in code-point order."""
        with self._uow as uow:
            return list(uow.tags.list_for_user(actor_id))

    def rename_tag(self, *, actor_id: str, tag_name: str, new_name: str) -> Tag:
        """Rename the caller's tag ``tag_name`` (trimmed like a stored name) to ``new_name``, in one transaction.

        A tag of the new name already there merges with it: a note carrying both keeps one, at
        the first place. Every note that changed gets a new version and ``updated_at``; a note
        that only carried the new name is left alone. The renamed (or merged) tag with its count.
        """
        old, new = tag_name.strip(), check_tag_name(new_name)

        def rename() -> Tag:
            with self._uow as uow:
                notes = self._carrying(uow, actor_id=actor_id, tag_name=old, also_locking=[new])
                if new != old:
                    now = self._clock.now()
                    for note in notes:
                        previous_version = note.version
                        note.rename_tag(old, new, now=now)
                        self._write_locked(uow, note, previous_version=previous_version)
                    uow.tags.remove_unused(user_id=actor_id, names=[old])
                tag = uow.tags.get(user_id=actor_id, name=new)
                uow.commit()
            assert tag is not None, "the notes carrying it are locked"
            return tag

        tag = retry_on_conflict(rename, exhausted=NoteWriteConflict)
        logger.info("tag renamed", extra={"note_count": tag.note_count})
        return tag

    def delete_tag(self, *, actor_id: str, tag_name: str) -> None:
        """Take the tag off every note of the caller's that carries it (each gets a new version); the notes stay."""
        name = tag_name.strip()

        def delete() -> None:
            with self._uow as uow:
                notes = self._carrying(uow, actor_id=actor_id, tag_name=name)
                now = self._clock.now()
                for note in notes:
                    previous_version = note.version
                    note.remove_tag(name, now=now)
                    self._write_locked(uow, note, previous_version=previous_version)
                uow.tags.remove_unused(user_id=actor_id, names=[name])
                uow.commit()

        retry_on_conflict(delete, exhausted=NoteWriteConflict)
        logger.info("tag deleted")

    @staticmethod
    def _carrying(
        uow: NoteUnitOfWork, *, actor_id: str, tag_name: str, also_locking: Collection[str] = ()
    ) -> list[Note]:
        """The caller's notes carrying the tag, locked; a tag no note carries does not exist."""
        notes = uow.notes.with_tag_for_update(user_id=actor_id, tag_name=tag_name, also_locking=also_locking)
        if not notes:
            raise TagNotFound()
        return notes

    @staticmethod
    def _write_locked(uow: NoteUnitOfWork, note: Note, *, previous_version: int) -> None:
        # The note is locked: its version cannot have moved since it was read.
        if not uow.notes.update(note, expected_version=previous_version):
            raise NoteWriteConflict()

    @staticmethod
    def _owned(note: Note | None, actor_id: str) -> Note:
        """The note if it is the actor's; another user's note is as absent as a missing one."""
        if note is None or not note.belongs_to(actor_id):
            raise NoteNotFound()
        return note

    @staticmethod
    def _check_version(note: Note, if_match: Collection[int] | None) -> None:
        if if_match is not None and note.version not in if_match:
            raise NoteVersionMismatch()
