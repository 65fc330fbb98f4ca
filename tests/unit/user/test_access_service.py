"""AccessService with the fakes: sessions that end, personal access tokens, and
the rule that account management needs a login token. No database, no app."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from tests.fakes import FakeClock, SequentialIds
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, FakeUserUnitOfWork, fake_account_emails
from user.application.access_service import AccessService, Caller
from user.application.commands import AccountChanges
from user.application.user_service import UserService
from user.domain.errors import (
    InvalidToken,
    InvalidUserInput,
    LoginTokenRequired,
    PersonalTokenLimitReached,
    PersonalTokenNotFound,
)
from user.domain.login_throttle import LoginThrottlePolicy
from user.domain.personal_token import MAX_PERSONAL_TOKENS_PER_USER, Credential
from user.interface import dependencies, router

PASSWORD = "correct horse battery"


@dataclass
class World:
    users: UserService
    access: AccessService
    uow: FakeUserUnitOfWork
    clock: FakeClock

    def login_token(self, email: str = "dexter@example.com") -> str:
        return self.users.login(email=email, password=PASSWORD).token

    def session(self, email: str = "dexter@example.com") -> Caller:
        return self.access.authenticate(self.login_token(email))

    def personal_token(self, caller: Caller, *, days: int | None = None) -> str:
        return self.access.create_personal_token(caller, name="script", expires_in_days=days).token


@pytest.fixture
def world() -> World:
    clock, uow, ids = FakeClock(), FakeUserUnitOfWork(), SequentialIds()
    tokens = FakeTokenIssuer(clock)
    users = UserService(
        uow=uow,
        hasher=FakePasswordHasher(),
        tokens=tokens,
        clock=clock,
        ids=ids,
        throttle_policy=LoginThrottlePolicy(max_failures=5, lockout=timedelta(minutes=15)),
        emails=FakeEmailHandoff(),
        account_emails=fake_account_emails(ids),
    )
    for email in ("dexter@example.com", "rita@example.com"):
        users.register(name="Dexter", email=email, password=PASSWORD)
    return World(users=users, access=AccessService(uow=uow, tokens=tokens, clock=clock, ids=ids), uow=uow, clock=clock)


# -- the allowed-routes rule ----------------------------------------------------


def test_a_login_token_passes_the_login_token_rule_and_a_personal_token_does_not(world: World) -> None:
    session = world.session()
    personal = world.access.authenticate(world.personal_token(session))

    assert session.credential is Credential.LOGIN
    assert session.require_login_token() is session
    assert personal.credential is Credential.PERSONAL
    assert personal.user.id == session.user.id
    with pytest.raises(LoginTokenRequired, match="This needs a login token"):
        personal.require_login_token()


def _needs_login_token(route: APIRoute) -> bool:
    def calls(dependant: object) -> set[object]:
        found = {getattr(dependant, "call", None)}
        for sub in getattr(dependant, "dependencies", []):
            found |= calls(sub)
        return found

    return dependencies.login_session in calls(route.dependant)


def test_exactly_the_account_management_routes_of_spec_11_need_a_login_token() -> None:
    routes = {f"{m} {r.path}": r for r in router.router.routes if isinstance(r, APIRoute) for m in r.methods}

    login_only = {label for label, route in routes.items() if _needs_login_token(route)}

    assert login_only == {
        "PUT /users",
        "DELETE /users",
        "POST /users/logout",
        "POST /users/logout-all",
        "POST /users/me/tokens",
        "GET /users/me/tokens",
        "DELETE /users/me/tokens/{token_id}",
        "POST /users/email-verification",  # SPEC §10: it sends an email to the account's address
    }
    assert "GET /users/me" in routes
    assert "GET /users/me" not in login_only


@pytest.mark.parametrize(
    "use",
    [
        lambda w, c: w.access.logout(c),
        lambda w, c: w.access.logout_all(c),
        lambda w, c: w.access.create_personal_token(c, name="x", expires_in_days=None),
        lambda w, c: w.access.list_personal_tokens(c),
        lambda w, c: w.access.delete_personal_token(c, token_id="absent"),
    ],
    ids=["logout", "logout-all", "create", "list", "delete"],
)
def test_every_account_use_case_refuses_a_personal_token_and_changes_nothing(world: World, use: object) -> None:
    personal = world.access.authenticate(world.personal_token(world.session()))
    commits = world.uow.commits

    with pytest.raises(LoginTokenRequired):
        use(world, personal)  # type: ignore[operator]
    assert world.uow.commits == commits


# -- sessions ---------------------------------------------------------------------


def test_logout_ends_only_the_token_of_the_request(world: World) -> None:
    first, second = world.login_token(), world.login_token()

    world.access.logout(world.access.authenticate(first))

    with pytest.raises(InvalidToken):
        world.access.authenticate(first)
    assert world.access.authenticate(second).user.email == "dexter@example.com"


def test_logout_all_ends_every_login_token_so_far_but_not_personal_tokens(world: World) -> None:
    first, second = world.login_token(), world.login_token()
    other_account = world.login_token("rita@example.com")
    personal = world.personal_token(world.access.authenticate(first))

    world.access.logout_all(world.access.authenticate(second))

    for token in (first, second):
        with pytest.raises(InvalidToken):
            world.access.authenticate(token)
    assert world.access.authenticate(personal).credential is Credential.PERSONAL
    assert world.access.authenticate(other_account).user.email == "rita@example.com"
    assert world.access.authenticate(world.login_token()).user.email == "dexter@example.com"


def test_a_revocation_is_pruned_once_the_token_has_expired_anyway(world: World) -> None:
    token = world.login_token()
    world.access.logout(world.access.authenticate(token))

    assert world.access.prune_revoked_tokens() == 0
    world.clock.advance(hours=1)
    assert world.access.prune_revoked_tokens() == 1
    with pytest.raises(InvalidToken):
        world.access.authenticate(token)  # expired now: refused without a revocation


# -- personal access tokens -----------------------------------------------------


def test_a_personal_token_is_listed_newest_first_without_the_token(world: World) -> None:
    session = world.session()
    first = world.access.create_personal_token(session, name="first", expires_in_days=None)
    world.clock.advance(seconds=1)
    second = world.access.create_personal_token(session, name="second", expires_in_days=7)

    listed = world.access.list_personal_tokens(session)

    assert [t.name for t in listed] == ["second", "first"]
    assert [t.expires_at for t in listed] == [second.record.created_at + timedelta(days=7), None]
    assert all(first.token not in repr(t) and second.token not in repr(t) for t in listed)


def test_last_used_is_written_at_most_once_a_minute(world: World) -> None:
    token = world.personal_token(world.session())
    used_at = world.clock.now()

    world.access.authenticate(token)
    commits = world.uow.commits
    world.clock.advance(seconds=59)
    for _ in range(5):
        world.access.authenticate(token)

    assert world.uow.commits == commits  # no write per request
    assert [t.last_used_at for t in world.access.list_personal_tokens(world.session())] == [used_at]
    world.clock.advance(seconds=2)
    world.access.authenticate(token)
    assert [t.last_used_at for t in world.access.list_personal_tokens(world.session())] == [world.clock.now()]


def test_a_refused_personal_token_is_not_counted_as_used(world: World) -> None:
    token = world.personal_token(world.session())

    world.access.authenticate(token, record_use=False)

    assert [t.last_used_at for t in world.access.list_personal_tokens(world.session())] == [None]


def test_an_expired_a_deleted_and_an_unknown_personal_token_are_invalid(world: World) -> None:
    session = world.session()
    expiring = world.personal_token(session, days=1)
    deleted = world.access.create_personal_token(session, name="gone", expires_in_days=None)
    world.access.delete_personal_token(session, token_id=deleted.record.id)
    world.clock.advance(days=1)

    for token in (expiring, deleted.token, "til_pat_" + "A" * 43, "til_pat_short"):
        with pytest.raises(InvalidToken):
            world.access.authenticate(token)


def test_at_most_50_personal_tokens_per_account(world: World) -> None:
    session = world.session()
    for _ in range(MAX_PERSONAL_TOKENS_PER_USER):
        world.personal_token(session)

    with pytest.raises(PersonalTokenLimitReached):
        world.personal_token(session)
    assert len(world.access.list_personal_tokens(session)) == MAX_PERSONAL_TOKENS_PER_USER
    assert world.personal_token(world.session("rita@example.com"))


def test_another_accounts_token_cannot_be_deleted(world: World) -> None:
    dexter = world.session()
    created = world.access.create_personal_token(dexter, name="mine", expires_in_days=None)

    with pytest.raises(PersonalTokenNotFound):
        world.access.delete_personal_token(world.session("rita@example.com"), token_id=created.record.id)
    assert world.access.authenticate(created.token).user.id == dexter.user.id


def test_bad_token_input_is_refused_and_stores_nothing(world: World) -> None:
    session = world.session()

    for name, days in [("", None), ("x" * 65, None), ("ok", 0), ("ok", 366)]:
        with pytest.raises(InvalidUserInput):
            world.access.create_personal_token(session, name=name, expires_in_days=days)
    assert world.access.list_personal_tokens(session) == []


def test_a_password_change_leaves_personal_tokens_working_and_ends_login_tokens(world: World) -> None:
    login_token = world.login_token()
    session = world.access.authenticate(login_token)
    personal = world.personal_token(session)

    world.users.update_me(
        actor_id=session.user.id, changes=AccountChanges(password="a brand new one", current_password=PASSWORD)
    )

    assert world.access.authenticate(personal).user.id == session.user.id
    with pytest.raises(InvalidToken):
        world.access.authenticate(login_token)


def test_deleting_the_account_ends_its_personal_tokens(world: World) -> None:
    session = world.session()
    personal = world.personal_token(session)

    world.users.delete_me(actor_id=session.user.id)

    with pytest.raises(InvalidToken):
        world.access.authenticate(personal)
