"""The user app's transactions on a real database (SQLite, then MariaDB):
failed use cases change nothing, and racing writers are all counted."""

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.clock import SystemClock
from common.ids import IdGenerator
from mail.domain.outbox_email import DEFAULT_DELIVERY_POLICY
from mail.infra.repository import SqlAlchemyOutbox
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, fake_account_emails
from user.application.account_service import AccountService
from user.application.commands import AccountChanges
from user.application.user_service import UserService
from user.domain.account_token import TokenPurpose
from user.domain.errors import EmailAlreadyRegistered, InvalidCredentials, WrongCurrentPassword
from user.domain.login_throttle import LoginThrottlePolicy
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

PASSWORD = "correct horse battery"
# Long enough that every racer is inside its transaction while the others are.
HOLD_SECONDS = 0.1


class UniqueIds(IdGenerator):
    """Ids that do not collide with other tests' rows in the shared database."""

    def new_id(self) -> str:
        return uuid.uuid4().hex[:26].upper()


def outbox_on(ids: IdGenerator) -> Callable[[Session], SqlAlchemyOutbox]:
    return lambda session: SqlAlchemyOutbox(session, ids=ids, policy=DEFAULT_DELIVERY_POLICY)


def make_service(session_factory: sessionmaker[Session]) -> UserService:
    clock = SystemClock()

    return UserService(
        uow=SqlAlchemyUserUnitOfWork(session_factory=session_factory, outbox=outbox_on(UniqueIds())),
        hasher=FakePasswordHasher(),
        tokens=FakeTokenIssuer(clock),
        clock=clock,
        ids=UniqueIds(),
        throttle_policy=LoginThrottlePolicy(max_failures=100, lockout=timedelta(minutes=15)),
        emails=FakeEmailHandoff(),
        account_emails=fake_account_emails(UniqueIds()),
    )


def unique_email() -> str:
    return f"race-{uuid.uuid4().hex[:12]}@example.com"


def run_together(count: int, action: Callable[[], object]) -> list[object]:
    """Run ``action`` in ``count`` threads released at the same moment; results or raised errors."""
    barrier = threading.Barrier(count)

    def attempt() -> object:
        barrier.wait()
        try:
            return action()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: attempt(), range(count)))


def warm_pool(session_factory: sessionmaker[Session], count: int) -> None:
    """Open ``count`` connections up front, so no racer is delayed by connecting."""
    engine = session_factory.kw["bind"]
    connections = [engine.connect() for _ in range(count)]  # checked out, no transaction begun
    for connection in connections:
        connection.close()


def failures_of(session_factory: sessionmaker[Session], key: str) -> int:
    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        throttle = uow.login_throttles.get(key)
    return 0 if throttle is None else throttle.failures


def record_failure_slowly(session_factory: sessionmaker[Session], key: str) -> int:
    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        throttle = uow.login_throttles.get_for_update(key)
        time.sleep(HOLD_SECONDS)
        throttle.failures += 1
        uow.login_throttles.save(throttle)
        uow.commit()
    return throttle.failures


@pytest.mark.parametrize("row_exists", [False, True], ids=["new-row", "existing-row"])
def test_racing_get_for_update_counts_every_failure(
    session_factory: sessionmaker[Session], *, row_exists: bool
) -> None:
    for _ in range(3):  # a race is a matter of timing: give it several chances to go wrong
        key = unique_email()
        if row_exists:
            record_failure_slowly(session_factory, key)
        before = failures_of(session_factory, key)
        warm_pool(session_factory, 2)

        results = run_together(2, lambda key=key: record_failure_slowly(session_factory, key))

        assert all(isinstance(result, int) for result in results), results
        assert sorted(results) == [before + 1, before + 2]
        assert failures_of(session_factory, key) == before + 2


def test_parallel_failed_logins_are_all_counted(session_factory: sessionmaker[Session]) -> None:
    service = make_service(session_factory)
    email = unique_email()
    service.register(name="Racer", email=email, password=PASSWORD)

    # One service per racer, as the container builds one per request.
    results = run_together(4, lambda: make_service(session_factory).login(email=email, password="wrong password"))

    assert all(isinstance(result, InvalidCredentials) for result in results), results
    assert failures_of(session_factory, email) == 4


def test_parallel_signups_with_one_email_make_one_account(session_factory: sessionmaker[Session]) -> None:
    service = make_service(session_factory)
    email = unique_email()
    emails = [email, email.upper(), email, email.title()]

    results = run_together(
        4, lambda: make_service(session_factory).register(name="Racer", email=emails.pop(), password=PASSWORD)
    )

    refused = [result for result in results if isinstance(result, EmailAlreadyRegistered)]
    assert len(refused) == 3, results
    assert service.login(email=email, password=PASSWORD).token


def test_a_refused_signup_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    service = make_service(session_factory)
    email = unique_email()
    first = service.register(name="First", email=email, password=PASSWORD)
    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        count = uow.users.count()

    with pytest.raises(EmailAlreadyRegistered):
        service.register(name="Second", email=email.upper(), password="another password")

    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        assert uow.users.count() == count
        assert uow.users.get_by_email(email) == first


def test_a_refused_update_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    service = make_service(session_factory)
    email = unique_email()
    user = service.register(name="First", email=email, password=PASSWORD)

    with pytest.raises(WrongCurrentPassword):
        service.update_me(
            actor_id=user.id,
            changes=AccountChanges(name="Renamed", password="a new password", current_password="wrong one"),
        )

    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        assert uow.users.get(user.id) == user


def test_parallel_reset_requests_for_one_account_send_no_more_than_the_hourly_limit(
    session_factory: sessionmaker[Session],
) -> None:
    """SPEC §10: ACCOUNT_EMAILS_PER_HOUR holds across processes; racing requests queue on the account's lock."""
    clock, ids = SystemClock(), UniqueIds()
    emails = fake_account_emails(ids)  # 3 per hour
    users = make_service(session_factory)
    address = unique_email()
    user = users.register(name="Racer", email=address, password=PASSWORD)

    def request() -> None:
        AccountService(
            uow=SqlAlchemyUserUnitOfWork(session_factory=session_factory, outbox=outbox_on(ids)),
            hasher=FakePasswordHasher(),
            clock=clock,
            account_emails=emails,
            emails=FakeEmailHandoff(),
        ).request_password_reset(email=address)

    warm_pool(session_factory, 6)
    results = run_together(6, request)

    assert results == [None] * 6, results
    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        sent = uow.account_tokens.counted_since(
            user_id=user.id, purpose=TokenPurpose.PASSWORD_RESET, since=clock.now() - timedelta(hours=1)
        )
    assert len(sent) == 3
