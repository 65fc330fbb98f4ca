"""The ``DigestRecipients`` port on the ``users`` table, read through a Core table of its own.

The note app never imports the user app (import-linter's independence
contract), yet the digest needs a few facts of each account: its address,
name, time zone and digest choice. So this adapter declares a ``Table`` of just
those columns on a ``MetaData`` of its own, the same way ``notes.user_id``
names ``users.id`` by table name only. It is not part of ``Base.metadata``:
Alembic neither creates nor compares it; the user app's ``UserRow`` and the
migrations stay the one definition of the table. It only reads.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, Row, String, Table, bindparam, select
from sqlalchemy.orm import Session

from note.application.ports import DigestRecipient, DigestRecipients
from note.infra.db_models import DigestWeekRow

WEEKLY = "weekly"

accounts = Table(
    "users",
    MetaData(),
    Column("id", String(26), primary_key=True),
    Column("email", String(254)),
    Column("name", String(32)),
    Column("timezone", String(64)),
    Column("digest", String(16)),
)
digest_weeks = DigestWeekRow.__table__

_WEEKLY_ACCOUNTS = (
    select(accounts.c.id, accounts.c.email, accounts.c.name, accounts.c.timezone, digest_weeks.c.week)
    .select_from(accounts.outerjoin(digest_weeks, digest_weeks.c.user_id == accounts.c.id))
    .where(accounts.c.digest == WEEKLY)
)
FIRST_BATCH = _WEEKLY_ACCOUNTS.order_by(accounts.c.id).limit(bindparam("limit"))
NEXT_BATCH = (
    _WEEKLY_ACCOUNTS.where(accounts.c.id > bindparam("after_id")).order_by(accounts.c.id).limit(bindparam("limit"))
)
ONE_ACCOUNT = _WEEKLY_ACCOUNTS.where(accounts.c.id == bindparam("user_id"))


def _recipient(row: Row[Any]) -> DigestRecipient:
    return DigestRecipient(user_id=row.id, email=row.email, name=row.name, timezone=row.timezone, last_week=row.week)


class SqlAlchemyDigestRecipients(DigestRecipients):
    def __init__(self, session: Session) -> None:
        self._session = session

    def weekly(self, *, after_id: str | None, limit: int) -> Sequence[DigestRecipient]:
        if after_id is None:
            rows = self._session.execute(FIRST_BATCH, {"limit": limit})
        else:
            rows = self._session.execute(NEXT_BATCH, {"after_id": after_id, "limit": limit})
        return [_recipient(row) for row in rows]

    def get(self, user_id: str) -> DigestRecipient | None:
        row = self._session.execute(ONE_ACCOUNT, {"user_id": user_id}).first()
        return None if row is None else _recipient(row)
