"""The caller's account over HTTP on SQLite and MariaDB: GET /users/me,
GET /users/{id}, PUT /users and DELETE /users."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from tests.support.app import (
    PASSWORD,
    assert_unauthenticated,
    assert_user_json,
    bearer,
    bootstrap_admin,
    login,
    new_user,
    signup,
    unique_email,
)

NEW_PASSWORD = "a brand new secret"
ABSENT_ID = "01J0ZZZZZZZZZZZZZZZZZZZZZZ"


@pytest.fixture(scope="module")
def admin(database_url: str, app: FastAPI) -> tuple[dict, dict[str, str]]:
    return bootstrap_admin(database_url, restore=app)


def login_status(client: TestClient, email: str, password: str) -> int:
    return client.post("/users/login", data={"username": email, "password": password}).status_code


# GET /users/me


def test_me_is_the_caller(client: TestClient) -> None:
    user, headers = new_user(client, name="Dexter")

    response = client.get("/users/me", headers=headers)

    assert response.status_code == 200
    assert response.json() == user
    assert_user_json(response.json())


def test_me_needs_a_token(client: TestClient) -> None:
    assert_unauthenticated(client.get("/users/me"))


# GET /users/{id}


def test_a_user_gets_itself_by_id(client: TestClient) -> None:
    user, headers = new_user(client)

    response = client.get(f"/users/{user['id']}", headers=headers)

    assert response.status_code == 200
    assert response.json() == user


@pytest.mark.parametrize("target", ["another-user", "absent", "admin", "not-a-ulid"])
def test_a_user_asking_for_any_other_id_gets_403(
    client: TestClient, admin: tuple[dict, dict[str, str]], target: str
) -> None:
    _, headers = new_user(client)
    other, _ = new_user(client)
    user_id = {"another-user": other["id"], "absent": ABSENT_ID, "admin": admin[0]["id"], "not-a-ulid": "x"}[target]

    response = client.get(f"/users/{user_id}", headers=headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "Not allowed"}


def test_an_admin_gets_anyone_and_404_for_an_absent_id(client: TestClient, admin: tuple[dict, dict[str, str]]) -> None:
    admin_user, admin_headers = admin
    other, _ = new_user(client)

    assert client.get(f"/users/{other['id']}", headers=admin_headers).json() == other
    assert client.get(f"/users/{admin_user['id']}", headers=admin_headers).json() == admin_user
    absent = client.get(f"/users/{ABSENT_ID}", headers=admin_headers)
    assert absent.status_code == 404
    assert absent.json() == {"detail": "User not found"}


def test_get_by_id_needs_a_token(client: TestClient) -> None:
    user, _ = new_user(client)

    assert_unauthenticated(client.get(f"/users/{user['id']}"))


# PUT /users


def test_put_renames_the_caller(client: TestClient) -> None:
    user, headers = new_user(client, name="Dexter")

    response = client.put("/users", headers=headers, json={"name": "김철수 😀"})

    assert response.status_code == 200
    updated = response.json()
    assert_user_json(updated)
    assert updated["name"] == "김철수 😀"
    assert {key: updated[key] for key in ("id", "email", "role", "created_at")} == {
        key: user[key] for key in ("id", "email", "role", "created_at")
    }
    assert updated["updated_at"] > user["updated_at"]
    assert client.get("/users/me", headers=headers).json() == updated


def test_put_with_nothing_changes_nothing(client: TestClient) -> None:
    user, headers = new_user(client)

    response = client.put("/users", headers=headers, json={})

    assert response.status_code == 200
    assert response.json() == user
    assert login_status(client, user["email"], PASSWORD) == 200


@pytest.mark.parametrize(
    "change",
    [{"password": NEW_PASSWORD}, {"password": NEW_PASSWORD, "current_password": "not my password"}],
    ids=["no-current-password", "wrong-current-password"],
)
def test_a_password_change_without_the_right_current_password_is_403_and_changes_nothing(
    client: TestClient, change: dict
) -> None:
    user, headers = new_user(client)

    response = client.put("/users", headers=headers, json={"name": "Renamed", **change})

    assert response.status_code == 403
    assert response.json() == {"detail": "current_password is missing or wrong"}
    assert client.get("/users/me", headers=headers).json() == user
    assert login_status(client, user["email"], PASSWORD) == 200
    assert login_status(client, user["email"], NEW_PASSWORD) == 401


def issued_at(token: str) -> int:
    return jwt.get_unverified_claims(token)["iat"]


def test_a_password_change_ends_older_tokens_even_within_the_same_second(client: TestClient) -> None:
    # Tokens carry whole seconds: retry until the old and the new token share one.
    for _ in range(5):
        email = unique_email()
        signup(client, email=email)
        old_token = login(client, email)
        response = client.put(
            "/users", headers=bearer(old_token), json={"password": NEW_PASSWORD, "current_password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        new_token = login(client, email, NEW_PASSWORD)
        if issued_at(old_token) == issued_at(new_token):
            break
    else:
        pytest.fail("could not issue two tokens within one second")

    assert_unauthenticated(client.get("/users/me", headers=bearer(old_token)))
    assert client.get("/users/me", headers=bearer(new_token)).status_code == 200
    assert login_status(client, email, NEW_PASSWORD) == 200
    assert login_status(client, email, PASSWORD) == 401


def test_a_password_change_with_a_new_name_does_both(client: TestClient) -> None:
    user, headers = new_user(client)

    response = client.put(
        "/users", headers=headers, json={"name": "Rita", "password": NEW_PASSWORD, "current_password": PASSWORD}
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Rita"
    assert client.get("/users/me", headers=bearer(login(client, user["email"], NEW_PASSWORD))).json()["name"] == "Rita"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A"},
        {"name": "x" * 33},
        {"name": 42},
        {"password": "x" * 7, "current_password": PASSWORD},
        {"password": "가" * 65, "current_password": PASSWORD},
        {"password": 12345678, "current_password": PASSWORD},
    ],
    ids=["name-1", "name-33", "name-number", "password-7", "password-65", "password-number"],
)
def test_an_invalid_update_is_422_and_changes_nothing(client: TestClient, body: dict) -> None:
    user, headers = new_user(client)

    response = client.put("/users", headers=headers, json=body)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert client.get("/users/me", headers=headers).json() == user
    assert login_status(client, user["email"], PASSWORD) == 200


def test_put_needs_a_token(client: TestClient) -> None:
    assert_unauthenticated(client.put("/users", json={"name": "Nobody"}))


# DELETE /users


def test_delete_removes_the_account_and_its_tokens(client: TestClient, admin: tuple[dict, dict[str, str]]) -> None:
    user, headers = new_user(client)

    response = client.delete("/users", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_unauthenticated(client.get("/users/me", headers=headers))
    assert_unauthenticated(client.put("/users", headers=headers, json={"name": "Ghost"}))
    assert_unauthenticated(client.delete("/users", headers=headers))
    assert client.get(f"/users/{user['id']}", headers=admin[1]).status_code == 404
    assert login_status(client, user["email"], PASSWORD) == 401


def test_a_deleted_email_can_sign_up_again(client: TestClient) -> None:
    user, headers = new_user(client)
    assert client.delete("/users", headers=headers).status_code == 204

    again = signup(client, email=user["email"].upper(), password=NEW_PASSWORD)

    assert again["id"] != user["id"]
    assert_unauthenticated(client.get("/users/me", headers=headers))
    assert client.get("/users/me", headers=bearer(login(client, user["email"], NEW_PASSWORD))).json() == again


def test_delete_needs_a_token(client: TestClient) -> None:
    assert_unauthenticated(client.delete("/users"))
