"""SQLAlchemy repositories of the user app. They stage changes; the unit of work commits."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.pagination import PageRequest
from user.domain.account_token import AccountToken, TokenPurpose
from user.domain.errors import EmailAlreadyRegistered
from user.domain.login_throttle import LoginThrottle
from user.domain.personal_token import PersonalToken
from user.domain.repository import (
    AccountTokenRepository,
    LoginThrottleRepository,
    PersonalTokenRepository,
    RevokedTokenRepository,
    UserRepository,
)
from user.domain.user import User, email_key
from user.infra.db_models import AccountTokenRow, LoginThrottleRow, PersonalTokenRow, RevokedTokenRow, UserRow
from user.infra.mappers import (
    account_token_from_row,
    account_token_values,
    personal_token_from_row,
    personal_token_values,
    throttle_from_row,
    user_from_row,
    user_values,
)

# Core statements on the tables, not ORM entities: a read is one SELECT mapped
# straight to a domain entity, with no identity map to fill and to empty again.
users = UserRow.__table__
throttles = LoginThrottleRow.__table__
account_tokens = AccountTokenRow.__table__
# Built once: a statement object memoizes its cache key, the hot reads skip recomputing it.
USER_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
USER_BY_ID_FOR_UPDATE = USER_BY_ID.with_for_update()
USER_BY_EMAIL_KEY = select(users).where(users.c.email_key == bindparam("email_key"))
TOKEN_BY_HASH = (
    select(account_tokens)
    .where(account_tokens.c.token_hash == bindparam("token_hash"), account_tokens.c.purpose == bindparam("purpose"))
    .with_for_update()
)
# A locking read: on MariaDB's REPEATABLE READ a plain SELECT would read the transaction's snapshot, taken
# before ``lock_owner`` waited, and miss the tokens of the request it waited for.
COUNTED_SINCE = (
    select(account_tokens.c.created_at)
    .where(
        account_tokens.c.user_id == bindparam("user_id"),
        account_tokens.c.purpose == bindparam("purpose"),
        account_tokens.c.created_at >= bindparam("since"),
        account_tokens.c.counted.is_(True),
    )
    .with_for_update()
)
# A record lock on the account's row (not a gap lock on token rows, which two transactions may both hold
# and then deadlock on their inserts): requests for one account run one after the other.
LOCK_OWNER = select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
VOID_UNUSED = (
    update(account_tokens)
    .where(
        account_tokens.c.user_id == bindparam("owner"),
        account_tokens.c.purpose == bindparam("token_purpose"),
        account_tokens.c.used_at.is_(None),
    )
    .values(used_at=bindparam("now"))
)
revoked = RevokedTokenRow.__table__
personal_tokens = PersonalTokenRow.__table__
# The caller lookup of a login token, revocation included: one statement, no second round trip.
USER_WITH_REVOCATION = (
    select(users, revoked.c.jti.label("revoked_jti"))
    .outerjoin(revoked, revoked.c.jti == bindparam("token_id"))
    .where(users.c.id == bindparam("user_id"))
)
# The caller lookup of a personal access token: the token and its owner in one statement. Every token
# column is labelled, so none shadows a user column of the same name (id, created_at).
TOKEN_COLUMNS = [column.label(f"token_{column.name}") for column in personal_tokens.c]
PERSONAL_TOKEN_WITH_OWNER = (
    select(users, *TOKEN_COLUMNS)
    .join(personal_tokens, personal_tokens.c.user_id == users.c.id)
    .where(personal_tokens.c.token_hash == bindparam("token_hash"))
)


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

    def get_unless_revoked(self, user_id: str, *, token_id: str) -> User | None:
        row = self._session.execute(USER_WITH_REVOCATION, {"user_id": user_id, "token_id": token_id}).first()
        return None if row is None or row.revoked_jti is not None else user_from_row(row)

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

    def bump_token_version(self, user_id: str) -> bool:
        result = self._session.execute(
            update(users).where(users.c.id == user_id).values(token_version=users.c.token_version + 1)
        )
        return result.rowcount > 0

    def delete(self, user_id: str) -> None:
        # The database's ON DELETE CASCADE removes the user's notes, tags and tokens.
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


class SqlAlchemyAccountTokenRepository(AccountTokenRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_owner(self, user_id: str) -> None:
        self._session.execute(LOCK_OWNER, {"user_id": user_id})

    def add(self, token: AccountToken) -> None:
        self._session.execute(insert(account_tokens).values(account_token_values(token)))

    def get_by_hash(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        row = self._session.execute(TOKEN_BY_HASH, {"token_hash": token_hash, "purpose": purpose.value}).first()
        return None if row is None else account_token_from_row(row)

    def save(self, token: AccountToken) -> None:
        values = account_token_values(token)
        del values["id"]
        self._session.execute(update(account_tokens).where(account_tokens.c.id == token.id).values(values))

    def void_unused(self, *, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        self._session.execute(VOID_UNUSED, {"owner": user_id, "token_purpose": purpose.value, "now": now})

    def counted_since(self, *, user_id: str, purpose: TokenPurpose, since: datetime) -> list[datetime]:
        rows = self._session.execute(COUNTED_SINCE, {"user_id": user_id, "purpose": purpose.value, "since": since})
        return [row.created_at for row in rows]

    def delete_spent(self, *, now: datetime, created_before: datetime) -> int:
        result = self._session.execute(
            delete(account_tokens).where(
                account_tokens.c.created_at < created_before,
                or_(account_tokens.c.used_at.is_not(None), account_tokens.c.expires_at <= now),
            )
        )
        return result.rowcount or 0


class SqlAlchemyRevokedTokenRepository(RevokedTokenRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *, token_id: str, user_id: str, expires_at: datetime) -> None:
        values = {"jti": token_id, "user_id": user_id, "expires_at": expires_at}
        if self._session.get_bind().dialect.name == "sqlite":
            statement = sqlite.insert(revoked).values(values).on_conflict_do_nothing()
        else:
            statement = mysql.insert(revoked).values(values).on_duplicate_key_update(jti=revoked.c.jti)
        self._session.execute(statement)

    def prune(self, *, now: datetime) -> int:
        return self._session.execute(delete(revoked).where(revoked.c.expires_at <= now)).rowcount


class SqlAlchemyPersonalTokenRepository(PersonalTokenRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: PersonalToken) -> None:
        self._session.execute(insert(personal_tokens).values(personal_token_values(token)))

    def lock_owner(self, user_id: str) -> bool:
        # SQLite: the transaction's BEGIN IMMEDIATE already holds the database's write lock.
        owner = select(users.c.id).where(users.c.id == user_id).with_for_update()
        return self._session.execute(owner).first() is not None

    def count_for_user(self, user_id: str) -> int:
        statement = select(func.count()).select_from(personal_tokens).where(personal_tokens.c.user_id == user_id)
        return self._session.scalar(statement) or 0

    def list_for_user(self, user_id: str) -> Sequence[PersonalToken]:
        rows = self._session.execute(
            select(personal_tokens)
            .where(personal_tokens.c.user_id == user_id)
            .order_by(personal_tokens.c.created_at.desc(), personal_tokens.c.id.desc())
        )
        return [personal_token_from_row(row) for row in rows]

    def get_with_owner(self, token_hash: str) -> tuple[PersonalToken, User] | None:
        row = self._session.execute(PERSONAL_TOKEN_WITH_OWNER, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return personal_token_from_row(row, prefix="token_"), user_from_row(row)

    def delete(self, *, user_id: str, token_id: str) -> bool:
        statement = delete(personal_tokens).where(
            personal_tokens.c.id == token_id, personal_tokens.c.user_id == user_id
        )
        return self._session.execute(statement).rowcount > 0

    def touch(self, token_id: str, *, now: datetime, stale_before: datetime) -> None:
        last_used = personal_tokens.c.last_used_at
        self._session.execute(
            update(personal_tokens)
            .where(personal_tokens.c.id == token_id, or_(last_used.is_(None), last_used < stale_before))
            .values(last_used_at=now)
        )
