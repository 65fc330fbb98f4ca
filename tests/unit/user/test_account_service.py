"""The token rules of AccountService (SPEC §10) with the fakes of tests/fakes/user.py: no database, no app."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from mail.domain.outbox_email import EmailKind, OutboxEmail
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.mail import FakeEmailHandoff
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, FakeUserUnitOfWork, fake_account_emails
from user.application.access_service import AccessService
from user.application.account_service import AccountService
from user.application.commands import AccountChanges, SignUpRequest
from user.application.user_service import UserService
from user.domain.account_token import AccountTokenPolicy, emails_retry_after, hash_token
from user.domain.errors import (
    AccountEmailsThrottled,
    EmailAlreadyVerified,
    EmailNotVerified,
    InvalidAccountToken,
    InvalidCredentials,
    InvalidToken,
    InvalidUserInput,
)
from user.domain.login_throttle import LoginThrottle, LoginThrottlePolicy
from user.domain.user import User

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
EMAIL = "dexter@example.com"
POLICY = AccountTokenPolicy(
    reset_lifetime=timedelta(minutes=30), verification_lifetime=timedelta(hours=48), emails_per_hour=3
)


@dataclass
class World:
    users: UserService
    accounts: AccountService
    access: AccessService
    uow: FakeUserUnitOfWork
    clock: FakeClock
    handoff: FakeEmailHandoff

    def sign_up(self, email: str = EMAIL) -> User:
        return self.users.sign_up(request=SignUpRequest(name="Dexter", email=email, password=PASSWORD)).user

    def emails(self, kind: EmailKind) -> list[OutboxEmail]:
        return sorted((e for e in self.uow.outbox_state.values() if e.kind is kind), key=lambda e: e.id)

    def last_token(self, kind: EmailKind) -> str:
        return self.emails(kind)[-1].payload["secret_token"]

    def stored(self, user_id: str) -> User:
        with self.uow as uow:
            user = uow.users.get(user_id)
        assert user is not None
        return user


def make_world(*, require_verified_email: bool = False) -> World:
    clock, ids = FakeClock(), SequentialIds()
    uow, handoff, hasher = FakeUserUnitOfWork(ids=ids), FakeEmailHandoff(), FakePasswordHasher()
    account_emails = fake_account_emails(ids, policy=POLICY)
    tokens = FakeTokenIssuer(clock)
    users = UserService(
        uow=uow,
        hasher=hasher,
        tokens=tokens,
        clock=clock,
        ids=ids,
        throttle_policy=LoginThrottlePolicy(max_failures=3, lockout=timedelta(minutes=15)),
        emails=handoff,
        account_emails=account_emails,
    )
    accounts = AccountService(
        uow=uow,
        hasher=hasher,
        clock=clock,
        account_emails=account_emails,
        emails=handoff,
    )
    access = AccessService(uow=uow, tokens=tokens, clock=clock, ids=ids, require_verified_email=require_verified_email)
    return World(users=users, accounts=accounts, access=access, uow=uow, clock=clock, handoff=handoff)


@pytest.fixture
def world() -> World:
    return make_world()


# password reset: the request


def test_a_reset_request_queues_one_email_with_a_link_and_stores_only_the_hash(world: World) -> None:
    user = world.sign_up()

    world.accounts.request_password_reset(email="DEXTER@example.com")

    [email] = world.emails(EmailKind.PASSWORD_RESET)
    raw = email.payload["secret_token"]
    assert email.recipient == user.email
    assert email.payload["secret_link"] == f"http://til.test/reset-password?token={raw}"
    assert len(raw) >= 43  # 32 random bytes, URL-safe base64
    assert email.payload["minutes"] == "30"
    stored = [t for t in world.uow.tokens_state.values() if t.token_hash == hash_token(raw)]
    assert len(stored) == 1
    assert raw not in repr(world.uow.tokens_state)
    assert world.handoff.handed_off[-1].outbox_id == email.id


def test_a_reset_request_for_an_unknown_address_queues_nothing_and_says_nothing(world: World) -> None:
    world.sign_up()
    commits = world.uow.commits

    assert world.accounts.request_password_reset(email="nobody@example.com") is None

    assert world.emails(EmailKind.PASSWORD_RESET) == []
    assert world.uow.commits == commits + 1  # the same transaction shape as for an account


def test_past_the_hourly_limit_a_reset_request_sends_nothing_until_an_hour_has_passed(world: World) -> None:
    world.sign_up()
    for _ in range(3):
        world.accounts.request_password_reset(email=EMAIL)
        world.clock.advance(minutes=1)

    last_sent = world.last_token(EmailKind.PASSWORD_RESET)
    world.accounts.request_password_reset(email=EMAIL)  # no error: the answer never changes
    assert len(world.emails(EmailKind.PASSWORD_RESET)) == 3
    assert world.accounts.reset_token_is_usable(token=last_sent)  # a request that sends nothing voids nothing

    world.clock.advance(minutes=58)  # the first one is an hour old now
    world.accounts.request_password_reset(email=EMAIL)
    assert len(world.emails(EmailKind.PASSWORD_RESET)) == 4


# password reset: the confirmation


def test_a_reset_sets_the_password_ends_logins_clears_the_throttle_and_sends_the_notice(world: World) -> None:
    user = world.sign_up()
    old_login = world.users.login(email=EMAIL, password=PASSWORD).token
    with world.uow as uow:
        uow.login_throttles.save(LoginThrottle(email_key=EMAIL, failures=2))
        uow.commit()
    world.accounts.request_password_reset(email=EMAIL)

    world.accounts.confirm_password_reset(token=world.last_token(EmailKind.PASSWORD_RESET), password=NEW_PASSWORD)

    with pytest.raises(InvalidToken):
        world.access.authenticate(old_login)
    with pytest.raises(InvalidCredentials):
        world.users.login(email=EMAIL, password=PASSWORD)
    assert world.users.login(email=EMAIL, password=NEW_PASSWORD).token
    assert EMAIL not in world.uow.throttles_state
    [notice] = world.emails(EmailKind.PASSWORD_CHANGED)
    assert notice.recipient == user.email


def test_a_reset_token_works_once(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    token = world.last_token(EmailKind.PASSWORD_RESET)
    world.accounts.confirm_password_reset(token=token, password=NEW_PASSWORD)

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_password_reset(token=token, password="yet another password")
    assert world.users.login(email=EMAIL, password=NEW_PASSWORD).token


def test_a_newer_reset_request_voids_the_older_token(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    older = world.last_token(EmailKind.PASSWORD_RESET)
    world.accounts.request_password_reset(email=EMAIL)
    newer = world.last_token(EmailKind.PASSWORD_RESET)

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_password_reset(token=older, password=NEW_PASSWORD)
    world.accounts.confirm_password_reset(token=newer, password=NEW_PASSWORD)


def test_a_reset_voids_every_reset_token_of_the_account(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    token = world.last_token(EmailKind.PASSWORD_RESET)
    world.accounts.confirm_password_reset(token=token, password=NEW_PASSWORD)

    assert all(t.used_at is not None for t in world.uow.tokens_state.values() if t.purpose.value == "password_reset")


def test_a_reset_token_expires_after_its_lifetime(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    token = world.last_token(EmailKind.PASSWORD_RESET)
    world.clock.advance(minutes=29, seconds=59)
    assert world.accounts.reset_token_is_usable(token=token)

    world.clock.advance(seconds=1)

    assert not world.accounts.reset_token_is_usable(token=token)
    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_password_reset(token=token, password=NEW_PASSWORD)


def test_checking_a_reset_link_never_uses_it_up(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    token = world.last_token(EmailKind.PASSWORD_RESET)

    for _ in range(3):
        assert world.accounts.reset_token_is_usable(token=token)
    world.accounts.confirm_password_reset(token=token, password=NEW_PASSWORD)


@pytest.mark.parametrize("token", ["", "unknown", "x" * 43])
def test_an_unknown_reset_token_is_refused_and_changes_nothing(world: World, token: str) -> None:
    user = world.sign_up()
    before = world.stored(user.id)

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_password_reset(token=token, password=NEW_PASSWORD)

    assert world.stored(user.id) == before
    assert world.emails(EmailKind.PASSWORD_CHANGED) == []


def test_a_verification_token_is_no_reset_token(world: World) -> None:
    world.sign_up()

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_password_reset(token=world.last_token(EmailKind.WELCOME), password=NEW_PASSWORD)


def test_a_bad_new_password_keeps_the_token(world: World) -> None:
    world.sign_up()
    world.accounts.request_password_reset(email=EMAIL)
    token = world.last_token(EmailKind.PASSWORD_RESET)

    with pytest.raises(InvalidUserInput):
        world.accounts.confirm_password_reset(token=token, password="short")

    assert world.accounts.reset_token_is_usable(token=token)


# email verification


def test_an_account_starts_unverified_and_the_welcome_token_verifies_it_idempotently(world: World) -> None:
    user = world.sign_up()
    assert not user.email_verified
    token = world.last_token(EmailKind.WELCOME)

    assert world.accounts.confirm_verification(token=token).email_verified
    assert world.accounts.confirm_verification(token=token).email_verified  # again: fine
    assert world.stored(user.id).email_verified


def test_a_verification_token_expires_after_its_lifetime(world: World) -> None:
    world.sign_up()
    token = world.last_token(EmailKind.WELCOME)
    world.clock.advance(hours=48)

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_verification(token=token)


def test_a_resend_queues_a_new_link_and_the_welcome_one_keeps_working(world: World) -> None:
    user = world.sign_up()

    world.accounts.request_verification(actor_id=user.id)

    [resend] = world.emails(EmailKind.EMAIL_VERIFICATION)
    assert resend.payload["secret_link"].startswith("http://til.test/verify-email?token=")
    assert world.accounts.confirm_verification(token=world.last_token(EmailKind.WELCOME)).email_verified


def test_resends_past_the_hourly_limit_are_throttled_with_a_retry_after(world: World) -> None:
    user = world.sign_up()  # the welcome email does not count
    for _ in range(3):
        world.accounts.request_verification(actor_id=user.id)
        world.clock.advance(minutes=10)

    with pytest.raises(AccountEmailsThrottled) as refused:
        world.accounts.request_verification(actor_id=user.id)

    assert refused.value.retry_after == 30 * 60 + 1  # the first resend leaves the window in 30 minutes
    world.clock.advance(minutes=30, seconds=1)
    world.accounts.request_verification(actor_id=user.id)


def test_a_verified_address_gets_no_resend(world: World) -> None:
    user = world.sign_up()
    world.accounts.confirm_verification(token=world.last_token(EmailKind.WELCOME))

    with pytest.raises(EmailAlreadyVerified):
        world.accounts.request_verification(actor_id=user.id)


def test_require_verified_refuses_an_unverified_account_only_when_the_setting_is_on() -> None:
    strict, lenient = make_world(require_verified_email=True), make_world()
    for world in (strict, lenient):
        world.sign_up()
    user = strict.stored(next(iter(strict.uow.users_state)))

    assert lenient.access.require_verified(user) is user
    with pytest.raises(EmailNotVerified):
        strict.access.require_verified(user)
    verified = strict.accounts.confirm_verification(token=strict.last_token(EmailKind.WELCOME))
    assert strict.access.require_verified(verified) is verified


# the password-changed notice on PUT /users


def test_a_password_change_queues_the_notice_and_a_rename_does_not(world: World) -> None:
    user = world.sign_up()
    world.users.update_me(actor_id=user.id, changes=AccountChanges(name="Rita"))
    assert world.emails(EmailKind.PASSWORD_CHANGED) == []

    world.users.update_me(actor_id=user.id, changes=AccountChanges(password=NEW_PASSWORD, current_password=PASSWORD))

    [notice] = world.emails(EmailKind.PASSWORD_CHANGED)
    assert notice.payload == {"name": "Rita", "reset_api": "http://til.test/users/password-reset"}
    assert world.handoff.handed_off[-1].outbox_id == notice.id


# the periodic pass


def test_the_purge_deletes_used_and_expired_tokens_once_the_rate_window_is_over(world: World) -> None:
    world.sign_up()  # a verification token, live for 48 hours
    world.accounts.request_password_reset(email=EMAIL)
    world.accounts.request_password_reset(email=EMAIL)  # voids the first
    assert world.accounts.purge_spent_tokens() == 0  # still counted toward the hourly limit

    world.clock.advance(minutes=61)
    assert world.accounts.purge_spent_tokens() == 2  # the voided one, and the expired one
    assert len(world.uow.tokens_state) == 1

    world.clock.advance(hours=48)
    assert world.accounts.purge_spent_tokens() == 1
    assert world.uow.tokens_state == {}


def test_deleting_the_account_takes_its_tokens_with_it(world: World) -> None:
    user = world.sign_up()
    token = world.last_token(EmailKind.WELCOME)
    world.users.delete_me(actor_id=user.id)

    with pytest.raises(InvalidAccountToken):
        world.accounts.confirm_verification(token=token)


# the rate rule itself


def test_emails_retry_after_counts_the_rolling_hour() -> None:
    now = FakeClock().now()
    sent = [now - timedelta(minutes=50), now - timedelta(minutes=20), now - timedelta(minutes=5)]

    assert emails_retry_after(sent[1:], now=now, limit=3) is None
    assert emails_retry_after(sent, now=now, limit=3) == 10 * 60 + 1
    assert emails_retry_after(sent, now=now, limit=2) == 40 * 60 + 1
