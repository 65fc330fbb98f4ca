"""SQLAlchemy repositories of the user app. They stage changes; the unit of work commits."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.pagination import PageRequest
from user.domain.errors import EmailAlreadyRegistered
from user.domain.login_throttle import LoginThrottle
from user.domain.outbox_email import EmailStatus, OutboxEmail
from user.domain.repository import LoginThrottleRepository, OutboxEmailRepository, UserRepository
from user.domain.user import User, email_key
from user.infra.db_models import LoginThrottleRow, OutboxEmailRow, UserRow
from user.infra.mappers import (
    outbox_email_from_row,
    outbox_email_to_row,
    throttle_from_row,
    user_from_row,
    user_values,
)

# Core statements on the tables, not ORM entities: a read is one SELECT mapped
# straight to a domain entity, with no identity map to fill and to empty again.
users = UserRow.__table__
throttles = LoginThrottleRow.__table__
# Built once: a statement object memoizes its cache key, the hot reads skip recomputing it.
USER_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
USER_BY_ID_FOR_UPDATE = USER_BY_ID.with_for_update()
USER_BY_EMAIL_KEY = select(users).where(users.c.email_key == bindparam("email_key"))


class SqlAlchemyUserRepository(UserRepository):
    """``save`` writes only the columns that differ from what this repository read
    (all of them for a user it did not read). ``get_for_update`` is ``SELECT … FOR
    UPDATE`` on MariaDB/MySQL; SQLite has no row locks, but there every
    transaction begins with ``BEGIN IMMEDIATE`` (``database/engine.py``): the
    database's write lock is held from the first read on."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._as_read: dict[str, dict[str, Any]] = {}

    def add(self, user: User) -> None:
        try:
            self._session.execute(insert(users).values(user_values(user)))
        except IntegrityError:
            raise EmailAlreadyRegistered() from None

    def get(self, user_id: str) -> User | None:
        return self._read(USER_BY_ID, {"user_id": user_id})

    def get_for_update(self, user_id: str) -> User | None:
        return self._read(USER_BY_ID_FOR_UPDATE, {"user_id": user_id})

    def get_by_email(self, email: str) -> User | None:
        return self._read(USER_BY_EMAIL_KEY, {"email_key": email_key(email)})

    def save(self, user: User) -> None:
        values = user_values(user)
        as_read = self._as_read.get(user.id, {})
        changed = {
            column: value
            for column, value in values.items()
            if column not in ("id", "created_at") and (column not in as_read or as_read[column] != value)
        }
        if changed:
            self._session.execute(update(users).where(users.c.id == user.id).values(changed))
            self._as_read[user.id] = values

    def _read(self, statement: Select[Any], parameters: dict[str, str]) -> User | None:
        row = self._session.execute(statement, parameters).first()
        if row is None:
            return None
        user = user_from_row(row)
        self._as_read[user.id] = user_values(user)
        return user

    def delete(self, user_id: str) -> None:
        # The database's ON DELETE CASCADE removes the user's notes and tags.
        self._session.execute(delete(users).where(users.c.id == user_id))

    def list(self, page: PageRequest) -> Sequence[User]:
        rows = self._session.execute(
            select(users).order_by(users.c.created_at, users.c.id).offset(page.offset).limit(page.limit)
        )
        return [user_from_row(row) for row in rows]

    def count(self) -> int:
        return self._session.scalar(select(func.count()).select_from(users)) or 0


class SqlAlchemyLoginThrottleRepository(LoginThrottleRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, email_key: str) -> LoginThrottle | None:
        row = self._session.execute(select(throttles).where(throttles.c.email_key == email_key)).first()
        return None if row is None else throttle_from_row(row)

    def get_for_update(self, email_key: str) -> LoginThrottle:
        self._insert_if_absent(email_key)
        row = self._session.execute(select(throttles).where(throttles.c.email_key == email_key).with_for_update()).one()
        return throttle_from_row(row)

    def save(self, throttle: LoginThrottle) -> None:
        self._session.execute(
            update(throttles)
            .where(throttles.c.email_key == throttle.email_key)
            .values(failures=throttle.failures, locked_until=throttle.locked_until)
        )

    def reset(self, email_key: str) -> None:
        self._session.execute(delete(throttles).where(throttles.c.email_key == email_key))

    def _insert_if_absent(self, email_key: str) -> None:
        """An insert that two processes may race on without an error.

        MySQL/MariaDB: a no-op ``ON DUPLICATE KEY UPDATE`` rather than
        ``INSERT IGNORE``, which only share-locks an existing row: two racers
        would both hold that lock, then deadlock when ``FOR UPDATE`` asks for
        the exclusive one. This takes the exclusive lock at once, so racers queue.
        """
        values = {"email_key": email_key, "failures": 0}
        if self._session.get_bind().dialect.name == "sqlite":
            statement = sqlite.insert(LoginThrottleRow).values(values).on_conflict_do_nothing()
        else:
            statement = (
                mysql.insert(LoginThrottleRow)
                .values(values)
                .on_duplicate_key_update(email_key=LoginThrottleRow.email_key)
            )
        self._session.execute(statement)


class SqlAlchemyOutboxEmailRepository(OutboxEmailRepository):
    """Locking reads are ``FOR UPDATE SKIP LOCKED`` on MariaDB/MySQL. SQLite has
    no row locks: there every transaction starts with ``BEGIN IMMEDIATE``
    (``database/engine.py``), which takes the database's write lock at once,
    so a read-then-update is never interleaved with another writer's."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, email: OutboxEmail) -> None:
        self._session.add(outbox_email_to_row(email))
        self._session.flush()

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
