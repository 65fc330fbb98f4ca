"""SQLAlchemy adapters of the mail app: the outbox repository, and the ``Outbox`` other apps queue into.

They stage changes; the unit of work (the mail app's, or the caller's) commits.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.ids import IdGenerator
from mail.application.outbox import RepositoryOutbox
from mail.domain.outbox_email import DeliveryPolicy, EmailStatus, OutboxEmail
from mail.domain.repository import OutboxEmailRepository
from mail.infra.db_models import OutboxEmailRow
from mail.infra.mappers import outbox_email_from_row, outbox_email_to_row


class SqlAlchemyOutboxEmailRepository(OutboxEmailRepository):
    """Locking reads are ``FOR UPDATE SKIP LOCKED`` on MariaDB/MySQL. SQLite has
    no row locks: there every transaction starts with ``BEGIN IMMEDIATE``
    (``database/engine.py``), which takes the database's write lock at once,
    so a read-then-update is never interleaved with another writer's."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, email: OutboxEmail) -> bool:
        if email.dedupe_key is None:
            self._session.add(outbox_email_to_row(email))
            self._session.flush()
            return True
        try:
            # A savepoint: a duplicate key undoes this insert only, not the caller's transaction.
            with self._session.begin_nested():
                self._session.add(outbox_email_to_row(email))
        except IntegrityError:
            return False
        return True

    def get(self, email_id: str) -> OutboxEmail | None:
        row = self._session.get(OutboxEmailRow, email_id)
        return None if row is None else outbox_email_from_row(row)

    def get_for_update(self, email_id: str, *, skip_locked: bool = True) -> OutboxEmail | None:
        row = self._session.scalars(
            select(OutboxEmailRow)
            .where(OutboxEmailRow.id == email_id)
            .with_for_update(skip_locked=skip_locked)
            .execution_options(populate_existing=True)
        ).first()
        return None if row is None else outbox_email_from_row(row)

    def due_for_update(self, *, now: datetime, limit: int) -> Sequence[OutboxEmail]:
        rows = self._session.scalars(
            select(OutboxEmailRow)
            .where(OutboxEmailRow.status == EmailStatus.PENDING.value, OutboxEmailRow.next_attempt_at <= now)
            .order_by(OutboxEmailRow.next_attempt_at, OutboxEmailRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return [outbox_email_from_row(row) for row in rows]

    def save(self, email: OutboxEmail) -> None:
        row = self._session.get(OutboxEmailRow, email.id)
        if row is not None:
            outbox_email_to_row(email, row)
            self._session.flush()

    def count_pending(self) -> int:
        statement = select(func.count()).where(OutboxEmailRow.status == EmailStatus.PENDING.value)
        return self._session.scalar(statement) or 0

    def delete_sent_before(self, cutoff: datetime, *, limit: int) -> int:
        # Ids first, then the delete: MariaDB/MySQL take no LIMIT in an IN subquery.
        ids = self._session.scalars(
            select(OutboxEmailRow.id)
            .where(OutboxEmailRow.status == EmailStatus.SENT.value, OutboxEmailRow.sent_at < cutoff)
            .order_by(OutboxEmailRow.sent_at)
            .limit(limit)
        ).all()
        if not ids:
            return 0
        self._session.execute(
            delete(OutboxEmailRow)
            .where(OutboxEmailRow.id.in_(ids), OutboxEmailRow.status == EmailStatus.SENT.value)
            .execution_options(synchronize_session=False)
        )
        return len(ids)


class SqlAlchemyOutbox(RepositoryOutbox):
    """``Outbox`` on the caller's session: the email is committed, or not, with the caller's change."""

    def __init__(self, session: Session, *, ids: IdGenerator, policy: DeliveryPolicy) -> None:
        super().__init__(SqlAlchemyOutboxEmailRepository(session), ids=ids, policy=policy)
