"""The user app's unit of work; its ``outbox`` queues emails on the same session (the transactional outbox)."""

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from database.unit_of_work import SqlAlchemyUnitOfWork
from mail.application.ports import Outbox
from user.application.ports import UserUnitOfWork
from user.infra.repository import (
    SqlAlchemyAccountTokenRepository,
    SqlAlchemyLoginThrottleRepository,
    SqlAlchemyPersonalTokenRepository,
    SqlAlchemyRevokedTokenRepository,
    SqlAlchemyUserRepository,
)


class SqlAlchemyUserUnitOfWork(SqlAlchemyUnitOfWork, UserUnitOfWork):
    """``outbox``: builds the mail app's ``Outbox`` on this unit of work's session
    (the container gives it; without it, a unit of work that queues no email)."""

    def __init__(
        self, session_factory: sessionmaker[Session], *, outbox: Callable[[Session], Outbox] | None = None
    ) -> None:
        super().__init__(session_factory)
        self._outbox_on = outbox

    def _bind(self, session: Session) -> None:
        self.users = SqlAlchemyUserRepository(session)
        self.login_throttles = SqlAlchemyLoginThrottleRepository(session)
        self.account_tokens = SqlAlchemyAccountTokenRepository(session)
        if self._outbox_on is not None:
            self.outbox = self._outbox_on(session)
        self.revoked_tokens = SqlAlchemyRevokedTokenRepository(session)
        self.personal_tokens = SqlAlchemyPersonalTokenRepository(session)
