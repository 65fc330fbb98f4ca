"""Telling the two kinds of bearer token apart, and reading each: personal
access tokens by shape and hash, login tokens (JWT) with their ``jti``."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from user.domain.errors import InvalidToken, InvalidUserInput
from user.domain.personal_token import (
    Credential,
    PersonalToken,
    check_expires_in_days,
    check_token_name,
    credential_of,
    is_well_formed_personal_token,
    new_personal_token,
    personal_token_hash,
)
from user.infra.jose_token_issuer import JoseTokenIssuer

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def issuer() -> JoseTokenIssuer:
    return JoseTokenIssuer(secret=SECRET, lifetime=timedelta(hours=1))


def test_a_new_personal_token_is_the_prefix_and_32_random_url_safe_bytes() -> None:
    tokens = {new_personal_token() for _ in range(50)}

    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"til_pat_[A-Za-z0-9_-]{43}", token), token
        assert is_well_formed_personal_token(token)
        assert credential_of(token) is Credential.PERSONAL


@pytest.mark.parametrize(
    "token",
    ["til_pat_", "til_pat_short", "til_pat_" + "a" * 42, "til_pat_" + "a" * 44, "til_pat_" + "a" * 42 + "=", "x" * 51],
)
def test_anything_else_is_not_a_well_formed_personal_token(token: str) -> None:
    assert not is_well_formed_personal_token(token)


@pytest.mark.parametrize("token", ["eyJhbGciOiJIUzI1NiJ9.e30.sig", "not-a.jwt", "", "TIL_PAT_" + "a" * 43, "til_pa"])
def test_a_token_without_the_prefix_claims_to_be_a_login_token(token: str) -> None:
    assert credential_of(token) is Credential.LOGIN


def test_only_the_sha256_of_a_personal_token_is_kept() -> None:
    record, token = PersonalToken.issue(id="t1", user_id="u1", name="ci", expires_in_days=None, now=NOW)

    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest() == personal_token_hash(token)
    assert token not in repr(record)
    assert record.expires_at is None
    assert record.last_used_at is None


def test_a_personal_token_expires_after_its_days_to_the_microsecond() -> None:
    record, _ = PersonalToken.issue(id="t1", user_id="u1", name="ci", expires_in_days=30, now=NOW)

    assert record.expires_at == NOW + timedelta(days=30)
    assert not record.is_expired(NOW + timedelta(days=30) - timedelta(microseconds=1))
    assert record.is_expired(NOW + timedelta(days=30))


def test_last_used_is_due_again_only_after_a_minute() -> None:
    record, _ = PersonalToken.issue(id="t1", user_id="u1", name="ci", expires_in_days=None, now=NOW)

    assert record.last_use_is_stale(NOW)
    record.last_used_at = NOW
    assert not record.last_use_is_stale(NOW + timedelta(seconds=60))
    assert record.last_use_is_stale(NOW + timedelta(seconds=60, microseconds=1))


@pytest.mark.parametrize("name", ["", " ", "\t", "a" * 65, "tab\there"])
def test_a_token_name_is_1_to_64_characters_not_blank_without_control_characters(name: str) -> None:
    with pytest.raises(InvalidUserInput):
        check_token_name(name)


@pytest.mark.parametrize("name", ["a", "a" * 64, "백업 스크립트 🎉"])
def test_good_token_names_are_kept_as_they_are(name: str) -> None:
    assert check_token_name(name) == name


@pytest.mark.parametrize("days", [0, -1, 366])
def test_expires_in_days_is_1_to_365(days: int) -> None:
    with pytest.raises(InvalidUserInput):
        check_expires_in_days(days)
    assert check_expires_in_days(1) == 1
    assert check_expires_in_days(365) == 365
    assert check_expires_in_days(None) is None


def test_a_login_token_carries_its_jti_and_expiry() -> None:
    token = issuer().issue(subject="u1", version=3, token_id="01JTI", now=datetime.now(UTC)).token

    claims = issuer().decode(token)

    assert (claims.subject, claims.version, claims.token_id) == ("u1", 3, "01JTI")
    assert claims.expires_at == datetime.fromtimestamp(jwt.get_unverified_claims(token)["exp"], UTC)


def _signed(**claims: object) -> str:
    now = int(datetime.now(UTC).timestamp())
    return jwt.encode({"sub": "u1", "ver": 0, "iat": now, "exp": now + 60, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        _signed(),  # no jti: it could never be logged out
        _signed(jti=""),
        _signed(jti=7),
        _signed(jti=None),
        _signed(jti="x" * 65),
        _signed(jti="ok", exp=10**20),  # an expiry no datetime holds
    ],
    ids=["missing", "empty", "number", "null", "too-long", "huge-exp"],
)
def test_a_login_token_without_a_sound_jti_or_expiry_is_invalid(token: str) -> None:
    with pytest.raises(InvalidToken):
        issuer().decode(token)
