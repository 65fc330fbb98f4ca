"""Signup, login and /users/me over HTTP."""

from fastapi.testclient import TestClient

from tests.support import PASSWORD, bearer, login, signup, unique_email


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
