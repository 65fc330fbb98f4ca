from collections.abc import Callable
from types import TracebackType

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from common.ids import IdGenerator
from database.errors import is_deadlock, is_foreign_key_violation
from database.unit_of_work import SqlAlchemyUnitOfWork
from mail.application.ports import Outbox
from note.application.ports import NoteUnitOfWork, WriteConflict
from note.domain.errors import NoteOwnerGone
from note.infra.digest_recipients import SqlAlchemyDigestRecipients
from note.infra.repository import (
    SqlAlchemyDigestWeekRepository,
    SqlAlchemyNoteRepository,
    SqlAlchemyReviewScheduleRepository,
    SqlAlchemyTagRepository,
)


class SqlAlchemyNoteUnitOfWork(SqlAlchemyUnitOfWork, NoteUnitOfWork):
    """``outbox``: builds the mail app's ``Outbox`` on this unit of work's session (the weekly digest's);
    without it, a unit of work that queues no email."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        ids: IdGenerator,
        *,
        outbox: Callable[[Session], Outbox] | None = None,
    ) -> None:
        super().__init__(session_factory)
        self._ids = ids  # for the rows of tags created on the way
        self._outbox_on = outbox

    def _bind(self, session: Session) -> None:
        self.notes = SqlAlchemyNoteRepository(session, self._ids)
        self.tags = SqlAlchemyTagRepository(session)
        self.schedules = SqlAlchemyReviewScheduleRepository(session)
        self.digest_recipients = SqlAlchemyDigestRecipients(session)
        self.digest_weeks = SqlAlchemyDigestWeekRepository(session)
        if self._outbox_on is not None:
            self.outbox = self._outbox_on(session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)  # rolls back and closes the session
        if isinstance(exc, OperationalError) and is_deadlock(exc):
            raise WriteConflict() from exc
        if isinstance(exc, IntegrityError) and is_foreign_key_violation(exc):
            # The note's user (its only parent that can vanish) was deleted by a transaction that committed first.
            raise NoteOwnerGone() from exc
