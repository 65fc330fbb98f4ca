from types import TracebackType

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from common.ids import IdGenerator
from database.unit_of_work import SqlAlchemyUnitOfWork
from note.application.ports import NoteUnitOfWork, WriteConflict
from note.infra.repository import SqlAlchemyNoteRepository, SqlAlchemyTagRepository

# MySQL/MariaDB: "Deadlock found when trying to get lock; try restarting transaction".
MYSQL_DEADLOCK = 1213


class SqlAlchemyNoteUnitOfWork(SqlAlchemyUnitOfWork, NoteUnitOfWork):
    def __init__(self, session_factory: sessionmaker[Session], ids: IdGenerator) -> None:
        super().__init__(session_factory)
        self._ids = ids  # for the rows of tags created on the way

    def _bind(self, session: Session) -> None:
        self.notes = SqlAlchemyNoteRepository(session, self._ids)
        self.tags = SqlAlchemyTagRepository(session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)  # rolls back and closes the session
        if isinstance(exc, OperationalError) and _is_deadlock(exc):
            raise WriteConflict() from exc


def _is_deadlock(error: OperationalError) -> bool:
    code = getattr(error.orig, "args", (None,))[:1]
    return code == (MYSQL_DEADLOCK,)
