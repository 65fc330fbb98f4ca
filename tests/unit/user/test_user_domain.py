"""The user app's pure rules: names, passwords, email keys, the entity, the login throttle."""

from datetime import UTC, datetime, timedelta

import pytest

from user.domain.errors import InvalidUserInput
from user.domain.login_throttle import LoginThrottle, LoginThrottlePolicy
from user.domain.user import Role, User, check_name, check_password, email_key

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
POLICY = LoginThrottlePolicy(max_failures=3, lockout=timedelta(minutes=15))


def make_user(*, user_id: str = "01J00000000000000000000001", role: Role = Role.USER) -> User:
    return User(
        id=user_id,
        name="Dexter",
        email="dexter@example.com",
        password_hash="hash-1",
        role=role,
        created_at=NOW,
        updated_at=NOW,
    )


def test_email_key_ignores_case_and_surrounding_space() -> None:
    assert email_key("  Dexter@Example.COM ") == "dexter@example.com"
    assert email_key("dexter@example.com") == email_key("DEXTER@EXAMPLE.COM")


@pytest.mark.parametrize("name", ["Al", "x" * 32, "김철", "😀🎉", "Dexter Morgan", "김철수 😀"])
def test_names_of_2_to_32_characters_are_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "A", "x" * 33, "가" * 33, "😀" * 33, "  ", "a\nb", "tab\there"],
    ids=["empty", "1-char", "33-ascii", "33-korean", "33-emoji", "blank", "newline", "tab"],
)
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidUserInput):
        check_name(name)


@pytest.mark.parametrize(
    "password",
    ["x" * 8, "x" * 64, "가" * 64, "😀" * 64, "비밀번호😀" * 12 + "abcd"],
    ids=["8-ascii", "64-ascii", "64-korean", "64-emoji", "64-mixed"],
)
def test_passwords_of_8_to_64_characters_are_accepted_whatever_their_bytes(password: str) -> None:
    assert check_password(password) == password


@pytest.mark.parametrize(
    "password",
    ["x" * 7, "가" * 7, "x" * 65, "😀" * 65, "with\x00nul"],
    ids=["7-ascii", "7-korean", "65-ascii", "65-emoji", "nul"],
)
def test_other_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidUserInput):
        check_password(password)


def test_a_user_may_view_only_itself_and_an_admin_anyone() -> None:
    user = make_user()
    admin = make_user(user_id="01J00000000000000000000002", role=Role.ADMIN)

    assert user.may_view(user.id)
    assert not user.may_view(admin.id)
    assert not user.may_view("01J0000000000000000000000Z")
    assert admin.is_admin
    assert admin.may_view(user.id)
    assert admin.may_view("01J0000000000000000000000Z")


def test_a_new_password_ends_older_tokens_and_touches_updated_at() -> None:
    user = make_user()
    later = NOW + timedelta(minutes=1)

    user.set_password_hash("hash-2", now=later)

    assert user.password_hash == "hash-2"
    assert user.token_version == 1
    assert user.updated_at == later


def test_a_hash_upgrade_keeps_tokens_valid() -> None:
    user = make_user()

    user.upgrade_password_hash("stronger-hash")

    assert user.password_hash == "stronger-hash"
    assert user.token_version == 0
    assert user.updated_at == NOW


def test_rename_checks_the_name() -> None:
    user = make_user()
    later = NOW + timedelta(minutes=1)

    with pytest.raises(InvalidUserInput):
        user.rename("x", now=later)
    assert (user.name, user.updated_at) == ("Dexter", NOW)

    user.rename("Rita", now=later)
    assert (user.name, user.updated_at) == ("Rita", later)


def test_a_throttle_allows_attempts_until_the_last_failure_allowed() -> None:
    throttle = LoginThrottle(email_key="a@example.com")

    for _ in range(POLICY.max_failures - 1):
        throttle.register_failure(now=NOW, policy=POLICY)
        assert throttle.retry_after(NOW) is None

    throttle.register_failure(now=NOW, policy=POLICY)
    assert throttle.locked_until == NOW + POLICY.lockout
    assert throttle.retry_after(NOW) == 15 * 60


def test_retry_after_counts_down_in_whole_seconds_rounded_up() -> None:
    throttle = LoginThrottle(email_key="a@example.com", failures=3, locked_until=NOW + timedelta(seconds=10))

    assert throttle.retry_after(NOW + timedelta(seconds=0.5)) == 10
    assert throttle.retry_after(NOW + timedelta(seconds=9.999)) == 1
    assert throttle.retry_after(NOW + timedelta(seconds=10)) is None
    assert throttle.retry_after(NOW + timedelta(hours=1)) is None


def test_a_failure_after_the_lockout_ends_starts_a_new_count() -> None:
    throttle = LoginThrottle(email_key="a@example.com", failures=3, locked_until=NOW)
    later = NOW + timedelta(seconds=1)

    throttle.register_failure(now=later, policy=POLICY)

    assert throttle.failures == 1
    assert throttle.locked_until is None
    assert throttle.retry_after(later) is None
