"""The SQLAlchemy side of the unit of work, shared by every app's infra."""

from abc import abstractmethod
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from common.unit_of_work import UnitOfWork, WriteConflict
from database.engine import REQUEST_CONNECTION
from database.errors import is_write_conflict


class SqlAlchemyUnitOfWork(UnitOfWork):
    """Opens a session on enter; rolls back what was not committed and closes it on exit.

    On a route run on the event loop the session joins the request's one
    transaction (``database.engine.LoopRunner``): then ``commit`` commits it,
    an error rolls it back, and a clean exit leaves it to the next unit of
    work (what was only read needs no ROLLBACK of its own).

    A deadlock or a lock-wait timeout (MySQL/MariaDB 1213, 1205) leaves the
    ``with`` block as ``WriteConflict``, for ``retry_on_conflict``: the
    database is up, a concurrent transaction won. Subclasses build their
    repositories on the session in ``_bind``.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self._bind(self._session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing the session rolls back whatever was not committed, like
        # ``rollback()``, minus restoring an ORM snapshot nobody will read:
        # the session ends here. Most units of work only read.
        assert self._session is not None
        try:
            if exc is not None and REQUEST_CONNECTION in self._session.info:
                self._session.rollback()  # the request's transaction: the next unit of work starts clean
            self._session.close()
        finally:
            self._session = None
        if isinstance(exc, DBAPIError) and is_write_conflict(exc):
            raise WriteConflict() from exc

    @abstractmethod
    def _bind(self, session: Session) -> None:
        """Create this unit of work's repositories on ``session``."""

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work in a 'with' block")
        return self._session

    def commit(self) -> None:
        self.session.commit()
        request_connection = self.session.info.get(REQUEST_CONNECTION)
        if request_connection is not None:
            request_connection.commit()

    def rollback(self) -> None:
        self.session.rollback()
