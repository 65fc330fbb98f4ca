"""What the note service needs from the outside world, as abstract ports."""

from common.unit_of_work import UnitOfWork
from note.domain.repository import NoteRepository, ShareRepository, TagRepository


class NoteUnitOfWork(UnitOfWork):
    """Raises ``WriteConflict`` out of its ``with`` block when the database
    aborted the transaction for a conflict with a concurrent one."""

    notes: NoteRepository
    tags: TagRepository
    shares: ShareRepository


class WriteConflict(Exception):
    """The database rolled this unit of work back to break a deadlock with a
    concurrent one; running the use case again may well succeed."""
