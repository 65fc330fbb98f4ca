from sqlalchemy.orm import Session

from database.unit_of_work import SqlAlchemyUnitOfWork
from user.application.ports import UserUnitOfWork
from user.infra.repository import (
    SqlAlchemyLoginThrottleRepository,
    SqlAlchemyOutboxEmailRepository,
    SqlAlchemyPersonalTokenRepository,
    SqlAlchemyRevokedTokenRepository,
    SqlAlchemyUserRepository,
)


class SqlAlchemyUserUnitOfWork(SqlAlchemyUnitOfWork, UserUnitOfWork):
    def _bind(self, session: Session) -> None:
        self.users = SqlAlchemyUserRepository(session)
        self.login_throttles = SqlAlchemyLoginThrottleRepository(session)
        self.outbox = SqlAlchemyOutboxEmailRepository(session)
        self.revoked_tokens = SqlAlchemyRevokedTokenRepository(session)
        self.personal_tokens = SqlAlchemyPersonalTokenRepository(session)
