"""Issue 11: the user app's writes under concurrency, on a real database.

A rename never undoes a password change (findings 1, 9), a deadlock or a
lock wait is run again instead of answering 503 (finding 3), and a burst of
parallel guesses reaches the password check at most ``max_failures`` times
(finding 4). Threads start together at a barrier; every loop is bounded.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from common.clock import SystemClock
from common.ulid_ids import UlidIdGenerator
from common.unit_of_work import WriteConflict
from database.engine import MYSQL_LOCK_WAIT_TIMEOUT_SECONDS, build_engine, build_session_factory
from note.application.commands import NoteDraft
from note.application.note_service import NoteService
from note.domain.errors import NoteOwnerGone
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, fake_account_emails
from tests.integration.test_user_concurrency import (
    PASSWORD,
    UniqueIds,
    outbox_on,
    run_together,
    unique_email,
    warm_pool,
)
from tests.support.notes import SHARE_CIPHER
from user.application.commands import AccountChanges
from user.application.ports import PasswordCheck
from user.application.user_service import UserService
from user.domain.errors import InvalidCredentials, LoginThrottled, WrongCurrentPassword
from user.domain.login_throttle import LoginThrottlePolicy
from user.infra.unit_of_work import SqlAlchemyUserUnitOfWork

NEW_PASSWORD = "a brand new password"
MAX_FAILURES = 5
TAGS = ["alpha", "beta", "gamma"]


class SlowHasher(FakePasswordHasher):
    """Argon2's slowness, without its CPU: every hash and check sleeps; checks are counted."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._seconds = seconds
        self._lock = threading.Lock()
        self.checks = 0

    def hash(self, password: str) -> str:
        time.sleep(self._seconds)
        return super().hash(password)

    def verify(self, password: str, password_hash: str) -> PasswordCheck:
        self._count()
        return super().verify(password, password_hash)

    def dummy_verify(self, password: str) -> None:
        self._count()
        super().dummy_verify(password)

    def _count(self) -> None:
        with self._lock:
            self.checks += 1
        time.sleep(self._seconds)


def make_service(
    session_factory: sessionmaker[Session], hasher: FakePasswordHasher | None = None, max_failures: int = 100
) -> UserService:
    clock = SystemClock()
    return UserService(
        uow=SqlAlchemyUserUnitOfWork(session_factory=session_factory, outbox=outbox_on(UniqueIds())),
        hasher=hasher or FakePasswordHasher(),
        tokens=FakeTokenIssuer(clock),
        clock=clock,
        ids=UniqueIds(),
        throttle_policy=LoginThrottlePolicy(max_failures=max_failures, lockout=timedelta(minutes=15)),
        emails=FakeEmailHandoff(),
        account_emails=fake_account_emails(UniqueIds()),
    )


@pytest.fixture
def mariadb_sessions(mariadb_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(mariadb_url)
    yield build_session_factory(engine)
    engine.dispose()


def stored_password_state(session_factory: sessionmaker[Session], user_id: str) -> tuple[str, int, str]:
    with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
        user = uow.users.get(user_id)
    assert user is not None
    return user.password_hash, user.token_version, user.name


# Finding 1 --------------------------------------------------------------------------------------------------


@pytest.mark.mariadb
def test_saving_a_stale_read_writes_only_the_changed_columns(mariadb_sessions: sessionmaker[Session]) -> None:
    """The repository-level cause: a rename from a read taken before a password change kept the old hash."""
    user = make_service(mariadb_sessions).register(name="Stale", email=unique_email(), password=PASSWORD)

    with SqlAlchemyUserUnitOfWork(session_factory=mariadb_sessions) as renamer:
        stale = renamer.users.get(user.id)
        assert stale is not None
        with SqlAlchemyUserUnitOfWork(session_factory=mariadb_sessions) as changer:
            fresh = changer.users.get(user.id)
            assert fresh is not None
            fresh.set_password_hash("hashed:" + NEW_PASSWORD, now=datetime.now(UTC))
            changer.users.save(fresh)
            changer.commit()
        stale.rename("Renamed", now=datetime.now(UTC))
        renamer.users.save(stale)
        renamer.commit()

    assert stored_password_state(mariadb_sessions, user.id) == ("hashed:" + NEW_PASSWORD, 1, "Renamed")


def race_renames_against_a_password_change(session_factory: sessionmaker[Session], renamers: int) -> str:
    """One round: ``renamers`` threads rename the account until its password has changed; the account's id."""
    user = make_service(session_factory).register(name="Racer", email=unique_email(), password=PASSWORD)
    warm_pool(session_factory, renamers + 1)
    changed = threading.Event()

    def rename() -> None:
        for round_number in range(200):
            make_service(session_factory).update_me(
                actor_id=user.id, changes=AccountChanges(name=f"Name {round_number}")
            )
            if changed.is_set():
                return

    def change_password() -> None:
        try:
            make_service(session_factory, SlowHasher(0.02)).update_me(
                actor_id=user.id, changes=AccountChanges(password=NEW_PASSWORD, current_password=PASSWORD)
            )
        finally:
            changed.set()

    with ThreadPoolExecutor(max_workers=renamers + 1) as pool:
        futures = [pool.submit(rename) for _ in range(renamers)] + [pool.submit(change_password)]
        for future in futures:
            future.result()
    return user.id


def test_renames_racing_a_password_change_never_undo_it(session_factory: sessionmaker[Session]) -> None:
    for _ in range(5):  # a race is a matter of timing: several rounds
        user_id = race_renames_against_a_password_change(session_factory, renamers=6)

        password_hash, token_version, _ = stored_password_state(session_factory, user_id)
        assert (password_hash, token_version) == ("hashed:" + NEW_PASSWORD, 1)


def test_two_password_changes_with_one_current_password_let_one_win(session_factory: sessionmaker[Session]) -> None:
    user = make_service(session_factory).register(name="Twice", email=unique_email(), password=PASSWORD)
    warm_pool(session_factory, 2)
    passwords = ["first new password", "second new password"]

    results = run_together(
        2,
        lambda: make_service(session_factory, SlowHasher(0.1)).update_me(
            actor_id=user.id, changes=AccountChanges(password=passwords.pop(), current_password=PASSWORD)
        ),
    )

    refused = [result for result in results if isinstance(result, WrongCurrentPassword)]
    assert len(refused) == 1, results
    password_hash, token_version, _ = stored_password_state(session_factory, user.id)
    assert token_version == 1
    assert password_hash.removeprefix("hashed:") in ("first new password", "second new password")


# Finding 9 --------------------------------------------------------------------------------------------------


def test_a_password_change_holds_no_write_lock_while_it_hashes(session_factory: sessionmaker[Session]) -> None:
    """On SQLite the change's transaction held the database's write lock through both slow hashes."""
    changer = make_service(session_factory).register(name="Changer", email=unique_email(), password=PASSWORD)
    bystander = make_service(session_factory).register(name="Bystander", email=unique_email(), password=PASSWORD)
    hashing_seconds = 0.5
    changing = threading.Thread(
        target=make_service(session_factory, SlowHasher(hashing_seconds)).update_me,
        kwargs={"actor_id": changer.id, "changes": AccountChanges(password=NEW_PASSWORD, current_password=PASSWORD)},
    )
    changing.start()
    try:
        time.sleep(hashing_seconds / 2)  # the change is checking the current password now
        started = time.perf_counter()
        make_service(session_factory).update_me(actor_id=bystander.id, changes=AccountChanges(name="Unblocked"))
        waited = time.perf_counter() - started
    finally:
        changing.join(timeout=10)

    assert waited < hashing_seconds / 2, f"the bystander's write waited {waited:.2f} s"
    assert stored_password_state(session_factory, changer.id)[1] == 1


# Finding 3 --------------------------------------------------------------------------------------------------


def hold_user_lock(session_factory: sessionmaker[Session], user_id: str, *, held: threading.Event, seconds: float):
    with session_factory() as session:
        session.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user_id})
        held.set()
        time.sleep(seconds)
        session.rollback()


@pytest.mark.mariadb
def test_a_lock_wait_timeout_leaves_the_unit_of_work_as_a_write_conflict(
    mariadb_sessions: sessionmaker[Session],
) -> None:
    user = make_service(mariadb_sessions).register(name="Locked", email=unique_email(), password=PASSWORD)
    held = threading.Event()
    holder = threading.Thread(
        target=hold_user_lock,
        args=(mariadb_sessions, user.id),
        kwargs={"held": held, "seconds": MYSQL_LOCK_WAIT_TIMEOUT_SECONDS + 1},
    )
    holder.start()
    try:
        assert held.wait(5)
        with pytest.raises(WriteConflict), SqlAlchemyUserUnitOfWork(session_factory=mariadb_sessions) as uow:
            uow.users.get_for_update(user.id)  # error 1205 after the lock wait
    finally:
        holder.join()


@pytest.mark.mariadb
def test_deleting_an_account_runs_again_after_a_lock_wait_timeout(mariadb_sessions: sessionmaker[Session]) -> None:
    """It answered 503 ("Database unavailable") and the account survived."""
    user = make_service(mariadb_sessions).register(name="Doomed", email=unique_email(), password=PASSWORD)
    held = threading.Event()
    holder = threading.Thread(
        target=hold_user_lock,
        args=(mariadb_sessions, user.id),
        # Longer than the driver's read timeout (3 s): a wait that long was a lost connection, a 503.
        kwargs={"held": held, "seconds": MYSQL_LOCK_WAIT_TIMEOUT_SECONDS + 1.5},
    )
    holder.start()
    try:
        assert held.wait(5)
        make_service(mariadb_sessions).delete_me(actor_id=user.id)
    finally:
        holder.join()

    with SqlAlchemyUserUnitOfWork(session_factory=mariadb_sessions) as uow:
        assert uow.users.get(user.id) is None


def race_a_deletion_against_note_writes(session_factory: sessionmaker[Session], writers: int) -> str:
    """One round: ``writers`` tagged notes created while the account is deleted; the account's id."""
    ids = UlidIdGenerator()
    user = make_service(session_factory).register(name="Writer", email=unique_email(), password=PASSWORD)
    warm_pool(session_factory, writers + 1)
    roles = iter(["delete"] + ["write"] * writers)
    lock = threading.Lock()

    def act() -> tuple[str, object]:
        with lock:
            role = next(roles)
        try:
            if role == "delete":
                return role, make_service(session_factory).delete_me(actor_id=user.id)
            notes = NoteService(
                uow=SqlAlchemyNoteUnitOfWork(session_factory, ids, share_cipher=SHARE_CIPHER),
                clock=SystemClock(),
                ids=ids,
            )
            return role, notes.create_note(
                actor_id=user.id, draft=NoteDraft(title="t", content="c", memo_date="20261201", tags=TAGS)
            )
        except Exception as error:
            return role, error

    results = run_together(writers + 1, act)
    (deleted,) = [result for role, result in results if role == "delete"]  # type: ignore[misc]
    written = [result for role, result in results if role == "write"]  # type: ignore[misc]

    assert deleted is None, deleted  # it was an OperationalError (a deadlock), answered 503
    assert all(not isinstance(result, Exception) or isinstance(result, NoteOwnerGone) for result in written), written
    return user.id


def test_deleting_an_account_racing_tagged_note_writes_always_succeeds(
    session_factory: sessionmaker[Session],
) -> None:
    for _ in range(8):
        user_id = race_a_deletion_against_note_writes(session_factory, writers=8)
        with SqlAlchemyUserUnitOfWork(session_factory=session_factory) as uow:
            assert uow.users.get(user_id) is None
        with SqlAlchemyNoteUnitOfWork(session_factory, UlidIdGenerator(), share_cipher=SHARE_CIPHER) as uow:
            assert list(uow.tags.list_for_user(user_id)) == []


# Finding 4 --------------------------------------------------------------------------------------------------

VARIANTS = ["{}", "{}".upper(), " {} ", "\t{}\n"]


def test_a_burst_of_parallel_guesses_reaches_the_hash_at_most_max_failures_times(
    session_factory: sessionmaker[Session],
) -> None:
    email = unique_email()
    make_service(session_factory).register(name="Target", email=email, password=PASSWORD)
    hasher = SlowHasher(0.05)
    burst = 12  # more than twice the limit, within the SQLite pool (15 connections)
    warm_pool(session_factory, burst)
    spellings = iter([VARIANTS[index % len(VARIANTS)].format(email) for index in range(burst)])
    lock = threading.Lock()

    def guess() -> object:
        with lock:
            spelling = next(spellings)
        return make_service(session_factory, hasher, max_failures=MAX_FAILURES).login(
            email=spelling, password="wrong password"
        )

    results = run_together(burst, guess)

    assert hasher.checks <= MAX_FAILURES, hasher.checks
    assert sum(isinstance(result, InvalidCredentials) for result in results) == hasher.checks
    assert all(isinstance(result, InvalidCredentials | LoginThrottled) for result in results), results
    with pytest.raises(LoginThrottled):
        make_service(session_factory, max_failures=MAX_FAILURES).login(email=email, password=PASSWORD)


def test_a_successful_login_is_not_counted(session_factory: sessionmaker[Session]) -> None:
    email = unique_email()
    service = make_service(session_factory, max_failures=MAX_FAILURES)
    service.register(name="Regular", email=email, password=PASSWORD)

    for _ in range(MAX_FAILURES * 2):  # twice the limit of successes, with a failure between each
        assert service.login(email=email, password=PASSWORD).token
        with pytest.raises(InvalidCredentials):
            service.login(email=email, password="wrong password")

    assert service.login(email=email, password=PASSWORD).token
