"""Your notes are yours (SPEC §12): export them as they are, import them back, all or nothing."""

import logging
import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from common.clock import Clock
from common.ids import IdGenerator
from common.unit_of_work import retry_on_conflict
from note.application.commands import ImportOutcome, NoteToImport
from note.application.ports import NoteUnitOfWork
from note.domain.errors import ImportTooLarge, InvalidNoteInput, NoteWriteConflict
from note.domain.note import Note, parse_memo_date

logger = logging.getLogger(__name__)

# Notes read per statement while exporting: the memory of an export is this many notes, whatever the count.
EXPORT_BATCH = 500
# The most notes one import takes (a Markdown zip: the most entries).
MAX_IMPORTED_NOTES = 100_000
# What our ids look like: an id of another shape in a file is never kept as a note's id.
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class PortabilityService:
    def __init__(self, *, uow: NoteUnitOfWork, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    def exported_at(self) -> datetime:
        return self._clock.now()

    def export_notes(self, *, actor_id: str) -> Iterator[Note]:
        """The caller's notes, oldest created first, read in keyset pages of ``EXPORT_BATCH``.

        Each page is its own short transaction, so a long download holds no lock and no
        snapshot; a note written meanwhile shows up if it sorts after the page being read.
        """
        after: tuple[datetime, str] | None = None
        while True:
            with self._uow as uow:
                batch = uow.notes.oldest_first(user_id=actor_id, after=after, limit=EXPORT_BATCH)
            yield from batch
            if len(batch) < EXPORT_BATCH:
                return
            after = (batch[-1].created_at, batch[-1].id)

    def import_notes(self, *, actor_id: str, notes: Sequence[NoteToImport]) -> ImportOutcome:
        """Create the notes of an export file in one transaction, all or nothing.

        Every note is checked first, as ``create_note`` checks one, and the first bad one refuses
        the import (``InvalidNoteInput`` whose ``location`` names it) before anything is written.
        A note whose id the caller already has, or already imported, is skipped. Its id is kept
        when it is one of ours and nobody's; otherwise (absent, another shape, another user's)
        the note gets a new id, and the id from the file is remembered as imported.
        """
        if len(notes) > MAX_IMPORTED_NOTES:
            raise ImportTooLarge(f"an import holds at most {MAX_IMPORTED_NOTES} notes")
        now = self._clock.now()
        checked = [(given, self._checked(given, actor_id=actor_id, now=now)) for given in notes]

        def run() -> ImportOutcome:
            with self._uow as uow:
                source_ids = {given.source_id for given in notes if given.source_id is not None}
                owners = uow.notes.owners(source_ids)
                imported = uow.imports.already_imported(user_id=actor_id, source_ids=source_ids)
                seen: set[str] = set()
                new_notes: list[Note] = []
                remembered: dict[str, str] = {}
                for given, note in checked:
                    source_id = given.source_id
                    if source_id is not None:
                        if source_id in seen or source_id in imported or owners.get(source_id) == actor_id:
                            continue
                        seen.add(source_id)
                    note.id = self._id_for(source_id, taken=owners)
                    if source_id is not None and note.id != source_id:
                        remembered[source_id] = note.id
                    new_notes.append(note)
                uow.notes.add_many(new_notes)
                uow.imports.remember(user_id=actor_id, imported=remembered)
                uow.commit()
            return ImportOutcome(created=len(new_notes), skipped=len(notes) - len(new_notes))

        outcome = retry_on_conflict(run, exhausted=NoteWriteConflict)
        logger.info("notes imported", extra={"notes_created": outcome.created, "notes_skipped": outcome.skipped})
        return outcome

    def _id_for(self, source_id: str | None, *, taken: dict[str, str]) -> str:
        if source_id is not None and _ULID.fullmatch(source_id) and source_id not in taken:
            return source_id
        return self._ids.new_id()

    @staticmethod
    def _checked(given: NoteToImport, *, actor_id: str, now: datetime) -> Note:
        """The note ``given`` describes (its id still to be chosen), by the rules of ``create_note``."""
        try:
            created_at = given.created_at or now
            return Note.restore(
                note_id="",
                user_id=actor_id,
                title=given.title,
                content=given.content,
                memo_date=parse_memo_date(given.memo_date),
                tags=list(given.tags),
                created_at=created_at,
                updated_at=given.updated_at or created_at,
            )
        except InvalidNoteInput as error:
            raise InvalidNoteInput(error.message, location=given.location) from None
