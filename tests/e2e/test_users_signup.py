"""POST /users over HTTP on SQLite and MariaDB: the created user, conflicts,
every validation rule (422, nothing written) and the 1 MiB body cap (413)."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.app import (
    PASSWORD,
    assert_user_json,
    bearer,
    bootstrap_admin,
    login,
    signup,
    unique_email,
)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def admin_headers(database_url: str, app: FastAPI) -> dict[str, str]:
    return bootstrap_admin(database_url, restore=app)[1]


def user_count(client: TestClient, admin_headers: dict[str, str]) -> int:
    response = client.get("/users", headers=admin_headers, params={"items_per_page": 1})
    assert response.status_code == 200, response.text
    return response.json()["total_count"]


def test_signup_answers_201_with_the_user_and_where_it_lives(client: TestClient) -> None:
    email = unique_email()

    response = client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD})

    assert response.status_code == 201
    body = response.json()
    assert_user_json(body)
    assert (body["name"], body["email"], body["role"]) == ("Dexter", email, "USER")
    assert body["created_at"] == body["updated_at"]
    assert response.headers["Location"] == f"/users/{body['id']}"
    assert response.headers["content-type"] == "application/json"


def test_no_password_or_hash_in_any_user_response(client: TestClient) -> None:
    email = unique_email()
    created = client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD})
    headers = bearer(login(client, email))
    responses = [
        created,
        client.get("/users/me", headers=headers),
        client.get(f"/users/{created.json()['id']}", headers=headers),
        client.put("/users", headers=headers, json={"name": "Rita"}),
    ]

    for response in responses:
        assert response.status_code in (200, 201), response.text
        assert PASSWORD not in response.text
        assert "$argon2" not in response.text
        assert not any("password" in key or "hash" in key for key in response.json())


def test_a_role_or_id_in_the_body_has_no_effect(client: TestClient) -> None:
    email = unique_email()
    forged_id = "01J00000000000000000000000"

    response = client.post(
        "/users",
        json={"name": "Mallory", "email": email, "password": PASSWORD, "role": "ADMIN", "id": forged_id},
    )

    assert response.status_code == 201
    assert response.json()["role"] == "USER"
    assert response.json()["id"] != forged_id
    me = client.get("/users/me", headers=bearer(login(client, email))).json()
    assert (me["role"], me["id"]) == ("USER", response.json()["id"])
    assert client.get("/users", headers=bearer(login(client, email))).status_code == 403


@pytest.mark.parametrize("variant", [str.upper, str.title, lambda email: email.replace("user", "USER")])
def test_an_email_taken_in_any_case_is_409_and_the_account_is_untouched(client: TestClient, variant: Any) -> None:
    email = unique_email()
    original = signup(client, name="Dexter", email=email)

    response = client.post("/users", json={"name": "Mallory", "email": variant(email), "password": "another one!"})

    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}
    me = client.get("/users/me", headers=bearer(login(client, email)))
    assert me.json() == original
    assert client.post("/users/login", data={"username": email, "password": "another one!"}).status_code == 401


@pytest.mark.parametrize(
    "name", ["Al", "x" * 32, "가" * 32, "😀" * 32, "김철수 😀🎉", "Ünïcödé ñame"], ids=lambda name: f"{len(name)}"
)
def test_names_of_2_to_32_characters_round_trip_whatever_their_bytes(client: TestClient, name: str) -> None:
    email = unique_email()

    created = signup(client, name=name, email=email)

    assert created["name"] == name
    assert client.get("/users/me", headers=bearer(login(client, email))).json()["name"] == name


VALID = {"name": "Dexter", "password": PASSWORD}
INVALID_BODIES: dict[str, dict[str, Any]] = {
    "name-empty": {"name": ""},
    "name-1-char": {"name": "A"},
    "name-33-chars": {"name": "x" * 33},
    "name-33-korean": {"name": "가" * 33},
    "name-blank": {"name": "    "},
    "name-control-char": {"name": "Dex\nter"},
    "email-no-at": {"email": "dexter-{unique}.example.com"},
    "email-no-domain": {"email": "dexter-{unique}@"},
    "email-no-local-part": {"email": "@{unique}.example.com"},
    "email-spaces": {"email": "dex ter-{unique}@example.com"},
    "email-too-long": {"email": "{unique}" + "a" * 250 + "@example.com"},
    "password-7-chars": {"password": "x" * 7},
    "password-65-chars": {"password": "x" * 65},
    "password-65-korean": {"password": "가" * 65},
    "password-empty": {"password": ""},
    "name-missing": {"name": None},
    "email-missing": {"email": None},
    "password-missing": {"password": None},
    "name-number": {"name": 12345},
    "email-number": {"email": 12345},
    "password-number": {"password": 12345678},
    "password-list": {"password": [PASSWORD]},
    "name-object": {"name": {"first": "Dexter"}},
    "name-null": {"name": "null"},
    "email-null": {"email": "null"},
}


def body_for(case: dict[str, Any], email: str) -> dict[str, Any]:
    body: dict[str, Any] = {**VALID, "email": email}
    for key, value in case.items():
        if value is None:
            del body[key]
        elif value == "null":
            body[key] = None
        elif isinstance(value, str):
            # Unique per test: login attempts at these addresses must not add up across tests and runs.
            body[key] = value.replace("{unique}", uuid.uuid4().hex[:12])
        else:
            body[key] = value
    return body


@pytest.fixture
def written_nothing(client: TestClient, admin_headers: dict[str, str]) -> Iterator[str]:
    """A fresh email; afterwards, checks that no account was written and that the email is still free."""
    email = unique_email()
    before = user_count(client, admin_headers)
    yield email
    assert user_count(client, admin_headers) == before
    assert client.post("/users/login", data={"username": email, "password": PASSWORD}).status_code == 401
    signup(client, email=email)


@pytest.mark.parametrize("case", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_every_invalid_signup_is_422_json_and_writes_nothing(
    client: TestClient, written_nothing: str, case: dict[str, Any]
) -> None:
    body = body_for(case, written_nothing)

    response = client.post("/users", json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], list)
    if isinstance(body.get("email"), str) and body["email"] != written_nothing:
        assert client.post("/users/login", data={"username": body["email"], "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "A", "String should have at least 2 characters"),
        ("name", "가" * 33, "String should have at most 32 characters"),
        ("password", "x" * 7, "String should have at least 8 characters"),
        ("password", "가" * 65, "String should have at most 64 characters"),
    ],
)
def test_a_length_error_counts_characters_not_items(
    client: TestClient, written_nothing: str, field: str, value: str, message: str
) -> None:
    response = client.post("/users", json={**VALID, "email": written_nothing, field: value})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["msg"]) == (["body", field], message)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "Dexter", "email": ', "application/json"),
        (b"not json at all", "application/json"),
        (b"", "application/json"),
        (b"[]", "application/json"),
        (b'"a string"', "application/json"),
        (None, "text/plain"),
        (None, "application/x-www-form-urlencoded"),
    ],
    ids=["truncated", "not-json", "empty", "array", "string", "text-plain", "form"],
)
def test_a_body_that_is_not_a_json_object_is_422_and_writes_nothing(
    client: TestClient, written_nothing: str, content: bytes | None, content_type: str
) -> None:
    if content is None:  # a valid user, but not sent as JSON
        content = json.dumps({**VALID, "email": written_nothing}).encode()

    response = client.post("/users", content=content, headers={"content-type": content_type})

    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


def test_a_body_that_is_not_utf8_is_422_like_any_malformed_body_and_writes_nothing(
    client: TestClient, written_nothing: str
) -> None:
    body = json.dumps({**VALID, "email": written_nothing}).encode().replace(b"Dexter", b"Dext\xffr")

    response = client.post("/users", content=body, headers={"content-type": "application/json"})

    # Not FastAPI's own 400: undecodable bytes are a malformed body, as truncated JSON is.
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["msg"]) == (["body"], "The body could not be parsed: it is not valid UTF-8")


def padded_signup(size: int) -> tuple[str, bytes]:
    """A valid signup body of exactly ``size`` bytes (JSON allows trailing spaces)."""
    email = unique_email()
    body = json.dumps({**VALID, "email": email}).encode()
    return email, body + b" " * (size - len(body))


def test_a_body_of_exactly_1_mib_is_accepted(client: TestClient) -> None:
    email, body = padded_signup(MIB)

    response = client.post("/users", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 201, response.text
    assert response.json()["email"] == email


def test_a_declared_body_over_1_mib_is_413_json_and_writes_nothing(client: TestClient) -> None:
    email, body = padded_signup(MIB + 1)

    response = client.post("/users", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1 MiB"}
    assert client.post("/users/login", data={"username": email, "password": PASSWORD}).status_code == 401


def test_a_chunked_body_over_1_mib_is_413_json_and_writes_nothing(client: TestClient) -> None:
    email, body = padded_signup(MIB + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = client.post("/users", content=chunks(), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1 MiB"}
    assert client.post("/users/login", data={"username": email, "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/users/login"), ("PUT", "/users")], ids=["login-form", "update"]
)
def test_other_bodies_over_1_mib_are_413_too(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, content=b"x" * (MIB + 1), headers={"content-type": "text/plain"})

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1 MiB"}
