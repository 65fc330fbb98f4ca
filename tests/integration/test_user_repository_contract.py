"""One contract for the user app's repositories and unit of work, run against
the fakes (tests/fakes/user.py) and the SQLAlchemy versions on SQLite and MariaDB,
so the fakes the unit tests trust cannot drift from the real thing.

Tests that list or count work inside one unit of work that is never
committed: the shared test database holds other tests' users too.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from common.pagination import PageRequest
from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from mail.domain.outbox_email import DEFAULT_DELIVERY_POLICY
from mail.infra.repository import SqlAlchemyOutbox
from tests.fakes.user import FakeUserUnitOfWork
from user.application.ports import UserUnitOfWork
from user.domain.account_token import AccountToken, TokenPurpose, hash_token
from user.domain.errors import EmailAlreadyRegistered
from user.domain.login_throttle import LoginThrottle
from user.domain.user import Role, User
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
# Earlier than any committed row: what these tests add sorts first in "oldest first".
LONG_AGO = datetime(1901, 1, 1, tzinfo=UTC)

NewUnitOfWork = Callable[[], UserUnitOfWork]


@pytest.fixture(params=BACKENDS)
def new_uow(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> NewUnitOfWork:
    """Makes units of work that share one store: a fake's state, or a real database."""
    if request.param == "fake":
        fake = FakeUserUnitOfWork()
        return lambda: fake
    url = request.getfixturevalue(f"{request.param}_url")
    if url not in engines:
        engines[url] = build_engine(url)
    session_factory = build_session_factory(engines[url])
    return lambda: SqlAlchemyUserUnitOfWork(session_factory=session_factory, outbox=outbox_on)


def new_id() -> str:
    return uuid.uuid4().hex[:26].upper()


def make_user(*, email: str | None = None, created_at: datetime | None = None, **fields: object) -> User:
    created_at = created_at or datetime.now(UTC)
    values: dict = {
        "id": new_id(),
        "name": "Dexter",
        "email": email or f"user-{uuid.uuid4().hex[:12]}@example.com",
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "role": Role.USER,
        "created_at": created_at,
        "updated_at": created_at,
    }
    values.update(fields)
    return User(**values)


def add(new_uow: NewUnitOfWork, user: User) -> None:
    with new_uow() as uow:
        uow.users.add(user)
        uow.commit()


def load(new_uow: NewUnitOfWork, user_id: str) -> User | None:
    with new_uow() as uow:
        return uow.users.get(user_id)


# users


def test_an_added_user_reads_back_field_for_field(new_uow: NewUnitOfWork) -> None:
    moment = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)
    user = make_user(
        name="김철수 😀🎉",
        role=Role.ADMIN,
        token_version=7,
        created_at=moment,
        updated_at=moment + timedelta(microseconds=1),
    )

    add(new_uow, user)
    loaded = load(new_uow, user.id)

    assert loaded == user
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.updated_at.microsecond == 123457


def test_absent_users_are_none(new_uow: NewUnitOfWork) -> None:
    with new_uow() as uow:
        assert uow.users.get(new_id()) is None
        assert uow.users.get_by_email(f"nobody-{uuid.uuid4().hex}@example.com") is None


def test_get_by_email_ignores_case(new_uow: NewUnitOfWork) -> None:
    user = make_user(email=f"Dexter.{uuid.uuid4().hex[:8]}@Example.com")
    add(new_uow, user)

    with new_uow() as uow:
        assert uow.users.get_by_email(user.email.upper()) == user
        assert uow.users.get_by_email(user.email.lower()) == user


def test_an_email_taken_in_another_case_is_refused(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)

    with new_uow() as uow, pytest.raises(EmailAlreadyRegistered):
        uow.users.add(make_user(email=user.email.upper()))

    assert load(new_uow, user.id) == user


def test_save_writes_the_changes_of_a_loaded_user(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    later = user.updated_at + timedelta(seconds=1, microseconds=5)

    with new_uow() as uow:
        loaded = uow.users.get(user.id)
        loaded.rename("라이타 🌸", now=later)
        loaded.set_password_hash("new-hash", now=later)
        uow.users.save(loaded)
        assert uow.users.get(user.id) == loaded
        uow.commit()

    assert load(new_uow, user.id) == loaded
    assert loaded.token_version == 1


def test_save_of_an_unknown_user_adds_nothing(new_uow: NewUnitOfWork) -> None:
    ghost = make_user()

    with new_uow() as uow:
        uow.users.save(ghost)
        uow.commit()

    assert load(new_uow, ghost.id) is None


def test_delete_removes_the_user_and_frees_its_email(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)

    with new_uow() as uow:
        uow.users.delete(user.id)
        assert uow.users.get(user.id) is None
        uow.commit()

    assert load(new_uow, user.id) is None
    add(new_uow, make_user(email=user.email))


def test_delete_of_an_absent_user_is_harmless(new_uow: NewUnitOfWork) -> None:
    with new_uow() as uow:
        uow.users.delete(new_id())
        uow.commit()


def test_list_is_oldest_first_by_creation_then_id(new_uow: NewUnitOfWork) -> None:
    base = LONG_AGO + timedelta(microseconds=uuid.uuid4().int % 1000)
    oldest = make_user(created_at=base)
    twin_a = make_user(id="0" + new_id()[1:], created_at=base + timedelta(microseconds=1))
    twin_b = make_user(id="1" + new_id()[1:], created_at=base + timedelta(microseconds=1))

    with new_uow() as uow:
        before = uow.users.count()
        for user in (twin_b, oldest, twin_a):
            uow.users.add(user)

        assert uow.users.count() == before + 3
        assert list(uow.users.list(PageRequest(page=1, items_per_page=2))) == [oldest, twin_a]
        assert list(uow.users.list(PageRequest(page=2, items_per_page=2)))[:1] == [twin_b]
        assert list(uow.users.list(PageRequest(page=1, items_per_page=3))) == [oldest, twin_a, twin_b]
        # Not committed: the shared database is left as it was.


def test_a_page_past_the_end_is_empty(new_uow: NewUnitOfWork) -> None:
    with new_uow() as uow:
        uow.users.add(make_user(created_at=LONG_AGO))
        total = uow.users.count()

        assert list(uow.users.list(PageRequest(page=total + 1, items_per_page=1))) == []
        assert len(uow.users.list(PageRequest(page=total, items_per_page=1))) == 1


# login throttles


def test_an_absent_throttle_is_none_until_taken_for_update(new_uow: NewUnitOfWork) -> None:
    key = f"throttle-{uuid.uuid4().hex}@example.com"

    with new_uow() as uow:
        assert uow.login_throttles.get(key) is None
        assert uow.login_throttles.get_for_update(key) == LoginThrottle(email_key=key)


def test_a_saved_throttle_reads_back_at_once_and_after_commit(new_uow: NewUnitOfWork) -> None:
    key = f"throttle-{uuid.uuid4().hex}@example.com"
    locked_until = datetime(2026, 11, 27, 9, 45, 0, 654321, tzinfo=UTC)

    with new_uow() as uow:
        throttle = uow.login_throttles.get_for_update(key)
        throttle.failures = 5
        throttle.locked_until = locked_until
        uow.login_throttles.save(throttle)
        assert uow.login_throttles.get(key) == throttle
        uow.commit()

    with new_uow() as uow:
        assert uow.login_throttles.get(key) == throttle
        assert uow.login_throttles.get_for_update(key) == throttle
    assert throttle.locked_until.utcoffset() == timedelta(0)


def test_reset_forgets_the_failures(new_uow: NewUnitOfWork) -> None:
    key = f"throttle-{uuid.uuid4().hex}@example.com"
    with new_uow() as uow:
        throttle = uow.login_throttles.get_for_update(key)
        throttle.failures = 2
        uow.login_throttles.save(throttle)
        uow.commit()

    with new_uow() as uow:
        uow.login_throttles.reset(key)
        assert uow.login_throttles.get(key) is None
        uow.commit()

    with new_uow() as uow:
        assert uow.login_throttles.get(key) is None
        assert uow.login_throttles.get_for_update(key).failures == 0


# the unit of work


def test_work_not_committed_is_rolled_back_on_exit(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    key = f"throttle-{uuid.uuid4().hex}@example.com"

    with new_uow() as uow:
        uow.users.add(user)
        uow.login_throttles.save(uow.login_throttles.get_for_update(key))

    with new_uow() as uow:
        assert uow.users.get(user.id) is None
        assert uow.login_throttles.get(key) is None


def test_committed_work_persists(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    key = f"throttle-{uuid.uuid4().hex}@example.com"

    with new_uow() as uow:
        uow.users.add(user)
        throttle = uow.login_throttles.get_for_update(key)
        throttle.failures = 1
        uow.login_throttles.save(throttle)
        uow.commit()

    with new_uow() as uow:
        assert uow.users.get(user.id) == user
        assert uow.login_throttles.get(key) == throttle


def test_an_error_inside_the_unit_of_work_discards_everything_it_did(new_uow: NewUnitOfWork) -> None:
    kept = make_user()
    add(new_uow, kept)
    newcomer = make_user()

    def failing_use_case() -> None:
        with new_uow() as uow:
            uow.users.add(newcomer)
            renamed = uow.users.get(kept.id)
            renamed.rename("Changed", now=renamed.updated_at)
            uow.users.save(renamed)
            raise RuntimeError("the use case failed half-way")

    with pytest.raises(RuntimeError):
        failing_use_case()

    assert load(new_uow, newcomer.id) is None
    assert load(new_uow, kept.id) == kept


def test_work_after_a_rollback_is_what_commit_keeps(new_uow: NewUnitOfWork) -> None:
    discarded, kept = make_user(), make_user()

    with new_uow() as uow:
        uow.users.add(discarded)
        uow.rollback()
        uow.users.add(kept)
        uow.commit()

    assert load(new_uow, discarded.id) is None
    assert load(new_uow, kept.id) == kept


def outbox_on(session: Session) -> SqlAlchemyOutbox:
    return SqlAlchemyOutbox(session, ids=UlidIdGenerator(), policy=DEFAULT_DELIVERY_POLICY)


# account tokens (SPEC §10)


def make_token(user: User, *, purpose: TokenPurpose, created_at: datetime, **fields: object) -> AccountToken:
    values: dict = {
        "id": new_id(),
        "user_id": user.id,
        "purpose": purpose,
        "token_hash": hash_token(uuid.uuid4().hex),
        "created_at": created_at,
        "expires_at": created_at + timedelta(minutes=30),
    }
    values.update(fields)
    return AccountToken(**values)


def add_tokens(new_uow: NewUnitOfWork, *tokens: AccountToken) -> None:
    with new_uow() as uow:
        for token in tokens:
            uow.account_tokens.add(token)
        uow.commit()


def test_email_verified_reads_back(new_uow: NewUnitOfWork) -> None:
    user = make_user(email_verified=True)
    add(new_uow, user)

    assert load(new_uow, user.id) == user


def test_a_token_reads_back_by_its_hash_and_purpose_only(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    moment = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)
    token = make_token(user, purpose=TokenPurpose.PASSWORD_RESET, created_at=moment, counted=False)
    add_tokens(new_uow, token)

    with new_uow() as uow:
        assert uow.account_tokens.get_by_hash(token.token_hash, TokenPurpose.PASSWORD_RESET) == token
        assert uow.account_tokens.get_by_hash(token.token_hash, TokenPurpose.EMAIL_VERIFICATION) is None
        assert uow.account_tokens.get_by_hash(hash_token("unknown"), TokenPurpose.PASSWORD_RESET) is None


def test_void_unused_marks_only_that_users_unused_tokens_of_that_purpose(new_uow: NewUnitOfWork) -> None:
    user, other = make_user(), make_user()
    add(new_uow, user)
    add(new_uow, other)
    now = datetime.now(UTC)
    earlier = now - timedelta(minutes=5)
    reset = make_token(user, purpose=TokenPurpose.PASSWORD_RESET, created_at=now)
    used = make_token(user, purpose=TokenPurpose.PASSWORD_RESET, created_at=now, used_at=earlier)
    verification = make_token(user, purpose=TokenPurpose.EMAIL_VERIFICATION, created_at=now)
    others = make_token(other, purpose=TokenPurpose.PASSWORD_RESET, created_at=now)
    add_tokens(new_uow, reset, used, verification, others)

    with new_uow() as uow:
        uow.account_tokens.void_unused(user_id=user.id, purpose=TokenPurpose.PASSWORD_RESET, now=now)
        uow.commit()

    with new_uow() as uow:

        def used_at(token: AccountToken) -> datetime | None:
            found = uow.account_tokens.get_by_hash(token.token_hash, token.purpose)
            assert found is not None
            return found.used_at

        assert used_at(reset) == now
        assert used_at(used) == earlier
        assert used_at(verification) is None
        assert used_at(others) is None


def test_counted_since_lists_the_counted_tokens_of_the_window(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    now = datetime.now(UTC)
    purpose = TokenPurpose.EMAIL_VERIFICATION
    inside = make_token(user, purpose=purpose, created_at=now - timedelta(minutes=59))
    outside = make_token(user, purpose=purpose, created_at=now - timedelta(minutes=61))
    welcome = make_token(user, purpose=purpose, created_at=now, counted=False)
    voided = make_token(user, purpose=purpose, created_at=now, used_at=now)
    add_tokens(new_uow, inside, outside, welcome, voided)

    with new_uow() as uow:
        since = uow.account_tokens.counted_since(user_id=user.id, purpose=purpose, since=now - timedelta(hours=1))

    assert sorted(since) == [inside.created_at, voided.created_at]


def test_delete_spent_removes_used_and_expired_tokens_created_before_the_cutoff(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    now = datetime.now(UTC)
    old = now - timedelta(hours=2)
    purpose = TokenPurpose.PASSWORD_RESET
    used_old = make_token(user, purpose=purpose, created_at=old, used_at=old, expires_at=now + timedelta(hours=1))
    expired_old = make_token(user, purpose=purpose, created_at=old, expires_at=now - timedelta(seconds=1))
    live_old = make_token(user, purpose=purpose, created_at=old, expires_at=now + timedelta(hours=1))
    used_recent = make_token(user, purpose=purpose, created_at=now, used_at=now)
    add_tokens(new_uow, used_old, expired_old, live_old, used_recent)

    with new_uow() as uow:
        deleted = uow.account_tokens.delete_spent(now=now, created_before=now - timedelta(hours=1))
        uow.commit()

    assert deleted >= 2  # other tests' spent tokens may go too, on a shared database
    with new_uow() as uow:
        remaining = {
            t.id
            for t in (live_old, used_recent, used_old, expired_old)
            if uow.account_tokens.get_by_hash(t.token_hash, purpose) is not None
        }
    assert remaining == {live_old.id, used_recent.id}


def test_deleting_a_user_deletes_its_tokens(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    token = make_token(user, purpose=TokenPurpose.EMAIL_VERIFICATION, created_at=datetime.now(UTC))
    add_tokens(new_uow, token)

    with new_uow() as uow:
        uow.users.delete(user.id)
        uow.commit()

    with new_uow() as uow:
        assert uow.account_tokens.get_by_hash(token.token_hash, token.purpose) is None


def test_get_for_update_reads_what_get_reads_and_save_keeps_it(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)

    with new_uow() as uow:
        locked = uow.users.get_for_update(user.id)
        assert locked == user
        assert uow.users.get_for_update(new_id()) is None
        assert locked is not None
        locked.rename("Renamed", now=datetime.now(UTC))
        uow.users.save(locked)
        uow.users.save(locked)  # nothing changed since: a no-op
        uow.commit()

    assert load(new_uow, user.id) == locked
