"""What the note service needs from the outside world, as abstract ports."""

from common.unit_of_work import UnitOfWork
from note.domain.repository import NoteImportRepository, NoteRepository, ShareRepository, TagRepository


class NoteUnitOfWork(UnitOfWork):
    """Raises ``WriteConflict`` (``common.unit_of_work``) out of its ``with`` block
    when the database aborted the transaction for a conflict with a concurrent one."""

    notes: NoteRepository
    tags: TagRepository
    imports: NoteImportRepository
    shares: ShareRepository
