"""One contract for the share repository, run against the fake (tests/fakes/note.py) and the
SQLAlchemy version on SQLite and MariaDB; and, on the databases, what only they can show: the
token sealed at rest, and a link read in one statement through the token-hash index.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from note.application.ports import NoteUnitOfWork
from note.domain.note import Note
from note.domain.share import Share, SharedNote, new_share_token, share_token_hash
from note.infra.db_models import NoteShareRow
from note.infra.repository import SHARED_NOTE
from note.infra.share_token_cipher import AesGcmShareTokenCipher
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.fakes.note import FakeNoteUnitOfWork
from tests.support.notes import SHARE_CIPHER, insert_user

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
IDS = UlidIdGenerator()
AUTHOR = "Note Tester"  # the name tests/support/notes.py's insert_user gives


@dataclass
class Store:
    fake: FakeNoteUnitOfWork | None = None
    session_factory: sessionmaker[Session] | None = None

    def uow(self, cipher: AesGcmShareTokenCipher = SHARE_CIPHER) -> NoteUnitOfWork:
        if self.fake is not None:
            return self.fake
        assert self.session_factory is not None
        return SqlAlchemyNoteUnitOfWork(self.session_factory, IDS, share_cipher=cipher)

    def new_note(self, **fields: object) -> Note:
        if self.fake is not None:
            user_id = IDS.new_id()
            self.fake.authors[user_id] = AUTHOR
        else:
            assert self.session_factory is not None
            user_id = insert_user(self.session_factory)
        values: dict = {
            "id": IDS.new_id(),
            "user_id": user_id,
            "title": "공유 🎉",
            "content": "# Shared\n\nwith *emphasis*",
            "memo_date": date(2026, 11, 27),
            "tags": ["zeta", "알파"],
            "created_at": T0,
            "updated_at": T0,
        }
        values.update(fields)
        note = Note(**values)
        with self.uow() as uow:
            uow.notes.add(note)
            uow.commit()
        return note


def _store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Store:
    if request.param == "fake":
        return Store(fake=FakeNoteUnitOfWork())
    url = request.getfixturevalue(f"{request.param}_url")
    if url not in engines:
        engines[url] = build_engine(url)
    return Store(session_factory=build_session_factory(engines[url]))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Store:
    return _store(request, engines)


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Store:
    return _store(request, engines)


def make_share(note: Note, *, days: int | None = None) -> Share:
    return Share.create(note_id=note.id, token=new_share_token(), now=T0, expires_in_days=days)


def replace(store: Store, share: Share) -> None:
    with store.uow() as uow:
        uow.shares.replace(share)
        uow.commit()


def get(store: Store, note_id: str) -> Share | None:
    with store.uow() as uow:
        return uow.shares.get_for_note(note_id)


def find(store: Store, token: str, now: datetime = T0) -> SharedNote | None:
    with store.uow() as uow:
        return uow.shares.find_shared(token_hash=share_token_hash(token), now=now)


def test_a_share_reads_back_and_shows_its_note(store: Store) -> None:
    note = store.new_note()
    share = make_share(note, days=7)

    replace(store, share)

    assert get(store, note.id) == share
    assert find(store, share.token) == SharedNote(
        title=note.title,
        content=note.content,
        memo_date=note.memo_date,
        tags=["zeta", "알파"],
        author=AUTHOR,
        updated_at=note.updated_at,
    )


def test_a_note_without_tags_shows_none(store: Store) -> None:
    note = store.new_note(tags=[])
    share = make_share(note)
    replace(store, share)

    found = find(store, share.token)

    assert found is not None
    assert found.tags == []


def test_a_new_share_replaces_the_old_one(store: Store) -> None:
    note = store.new_note()
    old, new = make_share(note), make_share(note, days=1)

    replace(store, old)
    replace(store, new)

    assert get(store, note.id) == new
    assert find(store, old.token) is None
    assert find(store, new.token) is not None


def test_a_deleted_share_is_gone(store: Store) -> None:
    note = store.new_note()
    share = make_share(note)
    replace(store, share)

    with store.uow() as uow:
        uow.shares.delete_for_note(note.id)
        uow.shares.delete_for_note(note.id)  # nothing left: no error
        uow.commit()

    assert get(store, note.id) is None
    assert find(store, share.token) is None


def test_a_share_works_until_its_expiry(store: Store) -> None:
    note = store.new_note()
    share = make_share(note, days=1)
    replace(store, share)
    assert share.expires_at is not None

    assert find(store, share.token, share.expires_at - timedelta(microseconds=1)) is not None
    assert find(store, share.token, share.expires_at) is None
    assert get(store, note.id) == share  # still there for the owner's routes to judge


def test_deleting_the_note_deletes_its_share(store: Store) -> None:
    note = store.new_note()
    share = make_share(note)
    replace(store, share)

    with store.uow() as uow:
        uow.notes.delete(note)
        uow.commit()

    assert get(store, note.id) is None
    assert find(store, share.token) is None


def test_what_is_not_committed_is_rolled_back(store: Store) -> None:
    note = store.new_note()
    share = make_share(note)

    with store.uow() as uow:
        uow.shares.replace(share)

    assert get(store, note.id) is None
    assert find(store, share.token) is None


def test_the_token_is_kept_only_hashed_and_sealed(database: Store) -> None:
    note = database.new_note()
    share = make_share(note)
    replace(database, share)

    assert database.session_factory is not None
    with database.session_factory() as session:
        row = session.execute(select(NoteShareRow.__table__).where(NoteShareRow.note_id == note.id)).one()

    assert row.token_hash == share_token_hash(share.token)
    assert share.token not in row.sealed_token
    assert SHARE_CIPHER.open(row.sealed_token, token_hash=row.token_hash) == share.token
    assert SHARE_CIPHER.open(row.sealed_token, token_hash=share_token_hash("another token")) is None


def test_a_share_sealed_under_another_secret_is_void(database: Store) -> None:
    """``JWT_SECRET`` rotated: the owner cannot be shown the old token, and the old link shows nothing."""
    note = database.new_note()
    share = make_share(note)
    replace(database, share)
    rotated = AesGcmShareTokenCipher("another-secret-that-is-long-enough-0123456789")

    with database.uow(rotated) as uow:
        assert uow.shares.get_for_note(note.id) is None
        assert uow.shares.find_shared(token_hash=share.token_hash, now=T0) is None


def test_a_link_is_read_in_one_statement_through_the_token_index(database: Store) -> None:
    note = database.new_note()
    share = make_share(note)
    replace(database, share)
    assert database.session_factory is not None
    engine = database.session_factory.kw["bind"]
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        found = find(database, share.token)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert found is not None
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
    plan = query_plan(engine, share.token_hash)
    # SQLite names a unique constraint's index sqlite_autoindex_*; MariaDB by the constraint's name.
    assert re.search(r"note_shares( USING INDEX \w+ \(token_hash=\?\)|:uq_note_shares_token_hash)", plan), plan
    # No table is read in full.
    assert "SCAN" not in plan, plan
    assert ":None" not in plan, plan


def query_plan(engine: Engine, token_hash: str) -> str:
    """How the database runs the lookup: SQLite's EXPLAIN QUERY PLAN, or MariaDB's EXPLAIN (key used)."""
    compiled = SHARED_NOTE.compile(dialect=engine.dialect)
    parameters = {"token_hash": token_hash, "now": T0.replace(tzinfo=None)}
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters_for(compiled, parameters))
            return " ".join(str(row[-1]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", parameters_for(compiled, parameters))
        return " ".join(f"{row._mapping['table']}:{row._mapping['key']}" for row in rows)


def parameters_for(compiled: object, values: dict) -> object:
    positions = getattr(compiled, "positiontup", None)
    if positions:
        return tuple(values[name] for name in positions)
    return values
