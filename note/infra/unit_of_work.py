from types import TracebackType

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.ids import IdGenerator
from common.unit_of_work import WriteConflict
from database.errors import is_duplicate_key, is_foreign_key_violation
from database.unit_of_work import SqlAlchemyUnitOfWork
from note.application.ports import NoteUnitOfWork
from note.domain.errors import NoteOwnerGone
from note.infra.repository import (
    SqlAlchemyNoteImportRepository,
    SqlAlchemyNoteRepository,
    SqlAlchemyShareRepository,
    SqlAlchemyTagRepository,
)
from note.infra.share_token_cipher import AesGcmShareTokenCipher


class SqlAlchemyNoteUnitOfWork(SqlAlchemyUnitOfWork, NoteUnitOfWork):
    def __init__(
        self, session_factory: sessionmaker[Session], ids: IdGenerator, *, share_cipher: AesGcmShareTokenCipher
    ) -> None:
        super().__init__(session_factory)
        self._ids = ids  # for the rows of tags created on the way
        self._share_cipher = share_cipher

    def _bind(self, session: Session) -> None:
        self.notes = SqlAlchemyNoteRepository(session, self._ids)
        self.tags = SqlAlchemyTagRepository(session)
        self.imports = SqlAlchemyNoteImportRepository(session)
        self.shares = SqlAlchemyShareRepository(session, self._share_cipher)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)  # rolls back, closes the session, raises WriteConflict
        if isinstance(exc, IntegrityError) and is_duplicate_key(exc):
            # Only ids that came from outside can collide (an import of the same file running at once):
            # running the use case again sees the other's notes and skips them.
            raise WriteConflict() from exc
        if isinstance(exc, IntegrityError) and is_foreign_key_violation(exc):
            # The note's user (its only parent that can vanish) was deleted by a transaction that committed first.
            raise NoteOwnerGone() from exc
