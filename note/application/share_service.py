"""The sharing use cases (SPEC §13): one public method each, one unit of work each.

The owner makes, reads and removes a note's link; anyone holding a link reads
the note through it. Another user's note is as absent as a missing one.
"""

import logging

from common.clock import Clock
from common.unit_of_work import retry_on_conflict
from note.application.ports import NoteUnitOfWork
from note.domain.errors import NoteNotFound, NoteWriteConflict, SharedNoteNotFound, ShareNotFound
from note.domain.note import Note
from note.domain.share import Share, SharedNote, check_expires_in_days, new_share_token, share_token_hash

logger = logging.getLogger(__name__)


class ShareService:
    def __init__(self, *, uow: NoteUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def share_note(self, *, actor_id: str, note_id: str, expires_in_days: int | None) -> Share:
        """A new link for the caller's note, replacing its earlier one.

        The note is locked while its link is replaced, so of two concurrent
        calls the later one's link is the one that works. A write the database
        aborted to break a deadlock runs again, as the note writes do.
        """
        check_expires_in_days(expires_in_days)

        def share() -> Share:
            with self._uow as uow:
                _owned(uow.notes.get_for_update(note_id), actor_id)
                link = Share.create(
                    note_id=note_id, token=new_share_token(), now=self._clock.now(), expires_in_days=expires_in_days
                )
                uow.shares.replace(link)
                uow.commit()
            return link

        link = retry_on_conflict(share, exhausted=NoteWriteConflict)
        logger.info("note shared", extra={"note_id": note_id})
        return link

    def get_share(self, *, actor_id: str, note_id: str) -> Share:
        """The caller's note's working link; an expired one counts as none."""
        with self._uow as uow:
            _owned(uow.notes.get(note_id), actor_id)
            share = uow.shares.get_for_note(note_id)
        if share is None or not share.is_active(self._clock.now()):
            raise ShareNotFound()
        return share

    def unshare_note(self, *, actor_id: str, note_id: str) -> None:
        """Remove the link of the caller's note: from now on it shows nothing."""

        def unshare() -> None:
            with self._uow as uow:
                _owned(uow.notes.get_for_update(note_id), actor_id)
                share = uow.shares.get_for_note(note_id)
                if share is None or not share.is_active(self._clock.now()):
                    raise ShareNotFound()
                uow.shares.delete_for_note(note_id)
                uow.commit()

        retry_on_conflict(unshare, exhausted=NoteWriteConflict)
        logger.info("note unshared", extra={"note_id": note_id})

    def read_shared_note(self, *, token: str) -> SharedNote:
        """The note a link shows, as it is now.

        Every kind of absence is the same one statement that finds nothing, and
        the same error: the answer and its timing tell nothing more.
        """
        with self._uow as uow:
            shared = uow.shares.find_shared(token_hash=share_token_hash(token), now=self._clock.now())
        if shared is None:
            raise SharedNoteNotFound()
        return shared


def _owned(note: Note | None, actor_id: str) -> Note:
    if note is None or not note.belongs_to(actor_id):
        raise NoteNotFound()
    return note
