"""UserService use cases with the fakes of tests/fakes/user.py: no database, no app."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from common.pagination import PageRequest
from common.unit_of_work import WRITE_ATTEMPTS, WriteConflict
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, FakeUserUnitOfWork, fake_account_emails
from user.application.access_service import AccessService
from user.application.commands import AccountChanges
from user.application.user_service import AdminBootstrap, UserService
from user.domain.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidToken,
    InvalidUserInput,
    LoginThrottled,
    NotAllowed,
    UserNotFound,
    UserWriteConflict,
    WrongCurrentPassword,
)
from user.domain.login_throttle import LoginThrottlePolicy
from user.domain.user import Role, User

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
MAX_FAILURES = 3
LOCKOUT = timedelta(minutes=15)


@dataclass
class World:
    service: UserService
    uow: FakeUserUnitOfWork
    hasher: FakePasswordHasher
    clock: FakeClock
    access: AccessService

    def authenticate(self, token: str) -> User:
        return self.access.authenticate(token).user

    def register(self, email: str, *, name: str = "Dexter", role: Role = Role.USER) -> User:
        return self.service.register(name=name, email=email, password=PASSWORD, role=role)

    def token(self, email: str, password: str = PASSWORD) -> str:
        return self.service.login(email=email, password=password).token

    def stored(self, user_id: str) -> User | None:
        with self.uow as uow:
            return uow.users.get(user_id)

    def count(self) -> int:
        with self.uow as uow:
            return uow.users.count()

    def seed(self, user: User) -> None:
        with self.uow as uow:
            uow.users.add(user)
            uow.commit()


@pytest.fixture
def world() -> World:
    clock = FakeClock()
    uow = FakeUserUnitOfWork()
    hasher = FakePasswordHasher()
    tokens, ids = FakeTokenIssuer(clock), SequentialIds()
    service = UserService(
        uow=uow,
        hasher=hasher,
        tokens=tokens,
        clock=clock,
        ids=ids,
        throttle_policy=LoginThrottlePolicy(max_failures=MAX_FAILURES, lockout=LOCKOUT),
        emails=FakeEmailHandoff(),
        account_emails=fake_account_emails(SequentialIds()),
    )
    access = AccessService(uow=uow, tokens=tokens, clock=clock, ids=ids)
    return World(service=service, uow=uow, hasher=hasher, clock=clock, access=access)


# register


def test_register_stores_a_user_with_a_hashed_password(world: World) -> None:
    user = world.register("dexter@example.com")

    assert user.role is Role.USER
    assert user.created_at == user.updated_at == world.clock.now()
    assert user.password_hash == world.hasher.hash(PASSWORD)
    assert world.stored(user.id) == user
    assert world.authenticate(world.token("dexter@example.com")).id == user.id


@pytest.mark.parametrize("taken", ["DEXTER@example.com", "dexter@EXAMPLE.COM", " Dexter@Example.com "])
def test_register_refuses_an_email_taken_in_any_case(world: World, taken: str) -> None:
    first = world.register("dexter@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        world.service.register(name="Other", email=taken, password="another password")

    assert world.count() == 1
    assert world.stored(first.id) == first


@pytest.mark.parametrize(
    ("name", "password"),
    [("x", PASSWORD), ("x" * 33, PASSWORD), ("Dexter", "short"), ("Dexter", "p" * 65)],
    ids=["name-1", "name-33", "password-5", "password-65"],
)
def test_register_refuses_invalid_input_and_writes_nothing(world: World, name: str, password: str) -> None:
    with pytest.raises(InvalidUserInput):
        world.service.register(name=name, email="dexter@example.com", password=password)

    assert world.count() == 0


# login


def test_login_issues_a_token_for_the_user_in_any_email_case(world: World) -> None:
    user = world.register("dexter@example.com")

    token = world.service.login(email="Dexter@EXAMPLE.com", password=PASSWORD)

    assert token.expires_in == 3600
    assert world.authenticate(token.token) == user


def test_unknown_email_and_wrong_password_fail_alike(world: World) -> None:
    world.register("dexter@example.com")

    with pytest.raises(InvalidCredentials) as unknown:
        world.service.login(email="nobody@example.com", password=PASSWORD)
    with pytest.raises(InvalidCredentials) as wrong:
        world.service.login(email="dexter@example.com", password="wrong password")

    assert unknown.value.message == wrong.value.message == "Incorrect email or password"


def test_an_unknown_email_still_pays_for_a_password_check(world: World) -> None:
    with pytest.raises(InvalidCredentials):
        world.service.login(email="nobody@example.com", password=PASSWORD)

    assert world.hasher.dummy_checks == 1


@pytest.mark.parametrize("known", [True, False], ids=["wrong-password", "unknown-email"])
def test_every_failure_counts_toward_the_lockout(world: World, *, known: bool) -> None:
    if known:
        world.register("dexter@example.com")
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")

    with pytest.raises(LoginThrottled) as throttled:
        world.service.login(email="dexter@example.com", password=PASSWORD)

    assert throttled.value.retry_after == LOCKOUT.total_seconds()


def test_an_address_longer_than_any_account_can_have_fails_like_any_unknown_email(world: World) -> None:
    email = "x" * 300 + "@example.com"

    for _ in range(MAX_FAILURES + 1):
        with pytest.raises(InvalidCredentials):
            world.service.login(email=email, password=PASSWORD)

    assert world.hasher.dummy_checks == MAX_FAILURES + 1


def test_a_locked_email_is_refused_even_with_the_right_password_until_the_lockout_ends(world: World) -> None:
    world.register("dexter@example.com")
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")

    world.clock.advance(minutes=10)
    with pytest.raises(LoginThrottled) as throttled:
        world.service.login(email="DEXTER@example.com", password=PASSWORD)
    assert throttled.value.retry_after == 5 * 60

    world.clock.advance(minutes=5)
    assert world.token("dexter@example.com")


def test_the_lockout_is_per_email(world: World) -> None:
    world.register("dexter@example.com")
    world.register("rita@example.com", name="Rita")
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")

    assert world.token("rita@example.com")


def test_a_success_before_the_lockout_resets_the_count(world: World) -> None:
    world.register("dexter@example.com")
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            with pytest.raises(InvalidCredentials):
                world.service.login(email="dexter@example.com", password="wrong password")
        assert world.token("dexter@example.com")


def test_successes_never_count_toward_the_lockout(world: World) -> None:
    world.register("dexter@example.com")

    for _ in range(MAX_FAILURES * 4):
        assert world.token("dexter@example.com")

    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")
    assert world.token("dexter@example.com")


def test_failures_after_a_lockout_ends_start_a_new_count(world: World) -> None:
    world.register("dexter@example.com")
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")
    world.clock.advance(seconds=LOCKOUT.total_seconds())

    # Counted from zero again: these stay ordinary failures, not a lockout.
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(InvalidCredentials):
            world.service.login(email="dexter@example.com", password="wrong password")
    assert world.token("dexter@example.com")


def test_a_legacy_hash_is_upgraded_at_login(world: World) -> None:
    now = world.clock.now()
    legacy = User(
        id="legacy-user",
        name="Old Timer",
        email="old@example.com",
        password_hash=f"legacy:{PASSWORD}",
        role=Role.USER,
        created_at=now,
        updated_at=now,
    )
    world.seed(legacy)

    with pytest.raises(InvalidCredentials):
        world.service.login(email="old@example.com", password="wrong password")
    assert world.stored("legacy-user").password_hash == f"legacy:{PASSWORD}"

    token = world.token("old@example.com")

    stored = world.stored("legacy-user")
    assert stored.password_hash == world.hasher.hash(PASSWORD)
    assert stored.token_version == 0
    assert world.authenticate(token).id == "legacy-user"
    assert world.token("old@example.com")


# authenticate


def test_authenticate_refuses_garbage_and_expired_tokens(world: World) -> None:
    world.register("dexter@example.com")
    token = world.token("dexter@example.com")

    with pytest.raises(InvalidToken):
        world.authenticate("not a token")
    world.clock.advance(hours=1)
    with pytest.raises(InvalidToken):
        world.authenticate(token)


def test_authenticate_refuses_a_token_older_than_the_last_password_change(world: World) -> None:
    user = world.register("dexter@example.com")
    old_token = world.token("dexter@example.com")

    world.service.update_me(actor_id=user.id, changes=AccountChanges(password=NEW_PASSWORD, current_password=PASSWORD))

    with pytest.raises(InvalidToken):
        world.authenticate(old_token)
    assert world.authenticate(world.token("dexter@example.com", NEW_PASSWORD)).id == user.id


def test_authenticate_refuses_the_token_of_a_deleted_user(world: World) -> None:
    user = world.register("dexter@example.com")
    token = world.token("dexter@example.com")

    world.service.delete_me(actor_id=user.id)

    with pytest.raises(InvalidToken):
        world.authenticate(token)


# get_user


def test_a_user_sees_itself(world: World) -> None:
    user = world.register("dexter@example.com")

    assert world.service.get_user(actor=user, user_id=user.id) == user


def test_a_user_may_not_see_anyone_else_present_or_absent(world: World) -> None:
    user = world.register("dexter@example.com")
    other = world.register("rita@example.com", name="Rita")

    with pytest.raises(NotAllowed):
        world.service.get_user(actor=user, user_id=other.id)
    with pytest.raises(NotAllowed):
        world.service.get_user(actor=user, user_id="01J0000000000000000000000Z")


def test_an_admin_sees_anyone_and_gets_not_found_for_an_absent_id(world: World) -> None:
    admin = world.register("admin@example.com", role=Role.ADMIN)
    other = world.register("rita@example.com", name="Rita")

    assert world.service.get_user(actor=admin, user_id=other.id) == other
    with pytest.raises(UserNotFound):
        world.service.get_user(actor=admin, user_id="01J0000000000000000000000Z")


# update_me


def test_update_me_renames_and_keeps_tokens_valid(world: World) -> None:
    user = world.register("dexter@example.com")
    token = world.token("dexter@example.com")
    world.clock.advance(minutes=1)

    updated = world.service.update_me(actor_id=user.id, changes=AccountChanges(name="Rita"))

    assert updated.name == "Rita"
    assert updated.updated_at == world.clock.now() > user.created_at
    assert world.stored(user.id) == updated
    assert world.authenticate(token).name == "Rita"


@pytest.mark.parametrize("current_password", [None, "wrong password"], ids=["missing", "wrong"])
def test_a_password_change_needs_the_right_current_password(world: World, current_password: str | None) -> None:
    user = world.register("dexter@example.com")
    token = world.token("dexter@example.com")

    with pytest.raises(WrongCurrentPassword):
        world.service.update_me(
            actor_id=user.id,
            changes=AccountChanges(name="Rita", password=NEW_PASSWORD, current_password=current_password),
        )

    assert world.stored(user.id) == user
    assert world.authenticate(token) == user
    with pytest.raises(InvalidCredentials):
        world.service.login(email="dexter@example.com", password=NEW_PASSWORD)


def test_a_password_change_replaces_the_password(world: World) -> None:
    user = world.register("dexter@example.com")

    updated = world.service.update_me(
        actor_id=user.id, changes=AccountChanges(password=NEW_PASSWORD, current_password=PASSWORD)
    )

    assert updated.token_version == user.token_version + 1
    assert world.token("dexter@example.com", NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        world.service.login(email="dexter@example.com", password=PASSWORD)


def test_update_me_refuses_an_invalid_name_or_password(world: World) -> None:
    user = world.register("dexter@example.com")

    with pytest.raises(InvalidUserInput):
        world.service.update_me(actor_id=user.id, changes=AccountChanges(name="x"))
    with pytest.raises(InvalidUserInput):
        world.service.update_me(actor_id=user.id, changes=AccountChanges(password="short", current_password=PASSWORD))

    assert world.stored(user.id) == user


def test_update_me_with_nothing_to_change_changes_nothing(world: World) -> None:
    user = world.register("dexter@example.com")
    world.clock.advance(minutes=1)

    assert world.service.update_me(actor_id=user.id, changes=AccountChanges()) == user
    assert world.stored(user.id) == user


def test_update_me_of_a_deleted_user_is_refused(world: World) -> None:
    user = world.register("dexter@example.com")
    world.service.delete_me(actor_id=user.id)

    with pytest.raises(InvalidToken):
        world.service.update_me(actor_id=user.id, changes=AccountChanges(name="Ghost"))


# delete_me


def test_delete_me_removes_the_account_and_frees_the_email(world: World) -> None:
    user = world.register("dexter@example.com")

    world.service.delete_me(actor_id=user.id)

    assert world.stored(user.id) is None
    with pytest.raises(InvalidCredentials):
        world.service.login(email="dexter@example.com", password=PASSWORD)
    again = world.register("Dexter@example.com")
    assert again.id != user.id


def test_delete_me_twice_is_refused(world: World) -> None:
    user = world.register("dexter@example.com")
    world.service.delete_me(actor_id=user.id)

    with pytest.raises(InvalidToken):
        world.service.delete_me(actor_id=user.id)


# list_users


def test_only_an_admin_lists_users(world: World) -> None:
    user = world.register("dexter@example.com")

    with pytest.raises(NotAllowed):
        world.service.list_users(actor=user, page=PageRequest())


def test_list_users_pages_oldest_first_with_the_true_total(world: World) -> None:
    admin = world.register("admin@example.com", role=Role.ADMIN)
    users = [admin]
    for number in range(4):
        world.clock.advance(seconds=1)
        users.append(world.register(f"user{number}@example.com"))

    first = world.service.list_users(actor=admin, page=PageRequest(page=1, items_per_page=2))
    last = world.service.list_users(actor=admin, page=PageRequest(page=3, items_per_page=2))
    past_the_end = world.service.list_users(actor=admin, page=PageRequest(page=4, items_per_page=2))

    assert [u.id for u in first.items] == [u.id for u in users[:2]]
    assert (first.total_count, first.page) == (5, 1)
    assert [u.id for u in last.items] == [users[4].id]
    assert (last.total_count, last.page) == (5, 3)
    assert list(past_the_end.items) == []
    assert (past_the_end.total_count, past_the_end.page) == (5, 4)


# ensure_admin


def test_ensure_admin_creates_an_admin_once(world: World) -> None:
    first = world.service.ensure_admin(email="root@example.com", password=PASSWORD, name="Root")
    second = world.service.ensure_admin(email="ROOT@example.com", password="another password", name="Other")

    assert first is AdminBootstrap.CREATED
    assert second is AdminBootstrap.ALREADY_ADMIN
    assert world.count() == 1
    admin = world.authenticate(world.token("root@example.com"))
    assert (admin.role, admin.name) == (Role.ADMIN, "Root")
    with pytest.raises(InvalidCredentials):
        world.service.login(email="root@example.com", password="another password")


def test_ensure_admin_leaves_an_existing_user_as_it_is(world: World) -> None:
    user = world.register("dexter@example.com")

    outcome = world.service.ensure_admin(email="Dexter@example.com", password="another password", name="Root")

    assert outcome is AdminBootstrap.NOT_ADMIN
    assert world.stored(user.id) == user
    assert world.count() == 1
    assert world.service.ensure_admin(email="dexter@example.com", password=PASSWORD, name="Root") is (
        AdminBootstrap.NOT_ADMIN
    )


class ConflictingCommits:
    """Makes the next ``conflicts`` commits of a fake unit of work abort as a deadlock would."""

    def __init__(self, uow: FakeUserUnitOfWork, conflicts: int) -> None:
        self.left = conflicts
        self._commit = uow.commit
        uow.commit = self.commit  # type: ignore[method-assign]

    def commit(self) -> None:
        if self.left:
            self.left -= 1
            raise WriteConflict()
        self._commit()


def test_an_account_change_aborted_by_a_deadlock_runs_again(world: World) -> None:
    """Issue 11, finding 3: the same retry as the note writes, for every user write."""
    user = world.register("again@example.com")
    ConflictingCommits(world.uow, conflicts=WRITE_ATTEMPTS - 1)

    world.service.update_me(actor_id=user.id, changes=AccountChanges(name="Renamed"))

    assert world.stored(user.id).name == "Renamed"


def test_an_account_change_that_keeps_conflicting_is_a_409_conflict_not_an_outage(world: World) -> None:
    user = world.register("stuck@example.com")
    ConflictingCommits(world.uow, conflicts=WRITE_ATTEMPTS)

    with pytest.raises(UserWriteConflict):
        world.service.delete_me(actor_id=user.id)

    assert world.stored(user.id) == user
