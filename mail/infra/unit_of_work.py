"""The mail app's own unit of work: the outbox service's transactions (claims, outcomes, pruning)."""

from sqlalchemy.orm import Session

from database.unit_of_work import SqlAlchemyUnitOfWork
from mail.application.ports import MailUnitOfWork
from mail.infra.repository import SqlAlchemyOutboxEmailRepository


class SqlAlchemyMailUnitOfWork(SqlAlchemyUnitOfWork, MailUnitOfWork):
    def _bind(self, session: Session) -> None:
        self.outbox = SqlAlchemyOutboxEmailRepository(session)
