"""Bearer tokens over HTTP on SQLite and MariaDB: every protected route
answers 401 with ``WWW-Authenticate: Bearer`` to anything but a valid token.

Forged tokens start from the claims of a real one (python-jose), so each
attack changes exactly one thing; a re-signed copy of the real claims must
still work, which proves the forging itself is sound.
"""

import base64
import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from jose import jws, jwt

from tests.support.app import TEST_JWT_SECRET, assert_unauthenticated, bearer, new_user, signup

PROTECTED = [
    ("GET", "/users/me"),
    ("GET", "/users/01J0ZZZZZZZZZZZZZZZZZZZZZZ"),
    ("PUT", "/users"),
    ("DELETE", "/users"),
    ("GET", "/users"),
]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict, alg: str) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def signed(claims: dict, *, key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def without(claims: dict, name: str) -> dict:
    return {key: value for key, value in claims.items() if key != name}


def tampered(token: str, claims: dict) -> str:
    """The original header and signature around another payload."""
    header, _, signature = token.split(".")
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


@pytest.fixture
def victim(client: TestClient) -> tuple[str, dict]:
    """A real token and its claims."""
    _, headers = new_user(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    return token, jwt.get_unverified_claims(token)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    assert_unauthenticated(client.request(method, path, json={"name": "Nobody"}))


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_route_refuses_a_bad_token(client: TestClient, method: str, path: str) -> None:
    assert_unauthenticated(client.request(method, path, headers=bearer("garbage"), json={"name": "Nobody"}))


def test_a_resigned_copy_of_real_claims_works(client: TestClient, victim: tuple[str, dict]) -> None:
    _, claims = victim

    assert client.get("/users/me", headers=bearer(signed(claims))).status_code == 200


def now() -> int:
    return int(time.time())


ATTACKS: dict[str, Callable[[str, dict], str]] = {
    "alg-none": lambda token, claims: unsigned(claims, "none"),
    "alg-None": lambda token, claims: unsigned(claims, "None"),
    "alg-none-with-signature": lambda token, claims: unsigned(claims, "none") + token.split(".")[2],
    "HS512-right-key": lambda token, claims: signed(claims, algorithm="HS512"),
    "HS384-right-key": lambda token, claims: signed(claims, algorithm="HS384"),
    "wrong-key": lambda token, claims: signed(claims, key="another-secret-that-is-long-enough-0123456789"),
    "tampered-subject": lambda token, claims: tampered(token, {**claims, "sub": "01J0ZZZZZZZZZZZZZZZZZZZZZZ"}),
    "tampered-expiry": lambda token, claims: tampered(token, {**claims, "exp": claims["exp"] + 3600}),
    "signature-stripped": lambda token, claims: token.rsplit(".", 1)[0] + ".",
    "expired": lambda token, claims: signed({**claims, "iat": now() - 7200, "exp": now() - 10}),
    "missing-exp": lambda token, claims: signed(without(claims, "exp")),
    "missing-iat": lambda token, claims: signed(without(claims, "iat")),
    "missing-sub": lambda token, claims: signed(without(claims, "sub")),
    "sub-not-a-string": lambda token, claims: signed({**claims, "sub": 12345}),
    "sub-of-nobody": lambda token, claims: signed({**claims, "sub": "01J0ZZZZZZZZZZZZZZZZZZZZZZ"}),
    "exp-not-a-number": lambda token, claims: signed({**claims, "exp": "tomorrow"}),
    "garbage": lambda token, claims: "garbage",
    "three-garbage-parts": lambda token, claims: "abc.def.ghi",
    "two-parts": lambda token, claims: token.rsplit(".", 1)[0],
    "not-base64": lambda token, claims: "%%%.%%%.%%%",
    "json-not-an-object": lambda token, claims: signed_raw_payload(b"[1, 2, 3]"),
    "truncated": lambda token, claims: token[:-5],
    # Issue 11, finding 2: these three answered 500 (RecursionError, OverflowError) before.
    "header-nested-1100-deep-unsigned": lambda token, claims: f"{b64(b'[' * 1100)}.{b64(b'{}')}.",
    "exp-1e999-signed": lambda token, claims: signed_raw_payload(json.dumps({**claims, "exp": 1e999}).encode()),
    "claims-nested-1100-deep-signed": lambda token, claims: signed_raw_payload(
        json.dumps(claims)[:-1].encode() + b', "x": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    ),
    "over-4-KiB": lambda token, claims: signed({**claims, "pad": "x" * 4096}),
}


def signed_raw_payload(payload: bytes) -> str:
    return jws.sign(payload, TEST_JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_forged_or_broken_token_is_401(client: TestClient, victim: tuple[str, dict], attack: Callable) -> None:
    token, claims = victim

    assert_unauthenticated(client.get("/users/me", headers=bearer(attack(token, claims))))


@pytest.mark.parametrize(
    "authorization",
    ["Basic ZGV4dGVyOnNlY3JldA==", "Bearer", "Bearer ", "Token abc", ""],
    ids=["basic", "bearer-alone", "bearer-space", "other-scheme", "empty"],
)
def test_an_authorization_header_without_a_bearer_token_is_401(client: TestClient, authorization: str) -> None:
    assert_unauthenticated(client.get("/users/me", headers={"Authorization": authorization}))


def test_the_token_of_another_secret_is_refused_even_for_a_real_user(client: TestClient) -> None:
    user = signup(client)
    forged = signed(
        {"sub": user["id"], "iat": now(), "exp": now() + 600},
        key="attacker-chosen-secret-0123456789-0123456789",
    )

    assert_unauthenticated(client.get("/users/me", headers=bearer(forged)))
