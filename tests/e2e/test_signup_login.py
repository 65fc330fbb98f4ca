"""Signup, login and /users/me over HTTP."""

import unicodedata
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.support.app import PASSWORD, bearer, login, signup, unique_email


def test_signup_login_me(client: TestClient) -> None:
    email = unique_email()
    created = signup(client, name="Dexter", email=email)
    token = login(client, email)

    response = client.get("/users/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == created
    assert created["role"] == "USER"
    assert created["email"] == email


def test_signup_answers_201_with_location(client: TestClient) -> None:
    response = client.post("/users", json={"name": "Dexter", "email": unique_email(), "password": PASSWORD})

    assert response.status_code == 201
    assert response.headers["Location"] == f"/users/{response.json()['id']}"


def unusual_spellings() -> dict[str, str]:
    """Addresses that email-validator stores in another form than the one typed (issue 11, finding 5)."""
    tag = uuid.uuid4().hex[:8]
    return {
        "nfd-local-part": unicodedata.normalize("NFD", f"josé-{tag}@example.com"),
        "idn-domain-as-punycode": f"user-{tag}@xn--bcher-kva.example",
        "idn-domain-in-capitals": f"user-{tag}@BÜCHER.example",
        "ligature-in-domain": f"user-{tag}@ﬁ.example",
    }


@pytest.mark.parametrize("kind", unusual_spellings().keys())
def test_login_with_the_address_exactly_as_typed_at_signup(client: TestClient, kind: str) -> None:
    typed = unusual_spellings()[kind]
    created = signup(client, email=typed)
    assert created["email"] != typed  # stored normalized

    token = login(client, typed)

    assert client.get("/users/me", headers=bearer(token)).json()["id"] == created["id"]
    assert login(client, created["email"])  # the stored form works too


def test_failed_logins_of_every_spelling_count_against_one_address(client: TestClient) -> None:
    typed = unusual_spellings()["nfd-local-part"]
    created = signup(client, email=typed)
    spellings = [typed, created["email"], typed.upper(), f" {created['email']} "]

    statuses = [
        client.post("/users/login", data={"username": spellings[attempt % 4], "password": "wrong password"}).status_code
        for attempt in range(6)
    ]

    assert statuses == [401] * 5 + [429]  # LOGIN_MAX_FAILURES defaults to 5
