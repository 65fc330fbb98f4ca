"""Errors of the note app, each a subclass of the shared hierarchy."""

from common.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, TooLarge


class InvalidNoteInput(InvalidInput):
    pass


class NoteNotFound(NotFound):
    """Also what another user's note is: whether it exists never leaks."""

    message = "Note not found"


class NoteVersionMismatch(PreconditionFailed):
    """The caller's version of the note is not the current one."""

    message = "The note has changed: its current version does not match the one given"


class NoteWriteConflict(Conflict):
    """Concurrent writes kept aborting this one (the database broke deadlocks); trying again later works."""

    message = "The note could not be written because of concurrent changes; try again"


class NoteOwnerGone(Conflict):
    """The account the note was written for was deleted meanwhile; the retry answers 401."""

    message = "A row this write refers to was deleted meanwhile; try again"


class TagNotFound(NotFound):
    """The caller has no tag of that name (another user's tags are as absent)."""

    message = "Tag not found"


class ImportTooLarge(TooLarge):
    """An import past its limits: too many notes, or an archive that unpacks too far."""

    message = "The import is too large"


class ShareNotFound(NotFound):
    """The owner's note has no active link (never shared, removed, or expired)."""

    message = "This note is not shared"


class SharedNoteNotFound(NotFound):
    """What ``GET /shared/{token}`` answers for every kind of absence, so none can be told apart:
    an unknown, replaced, removed or expired link, or a deleted note or account."""

    message = "Shared note not found"
