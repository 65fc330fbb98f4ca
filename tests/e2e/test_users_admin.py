"""Admins over HTTP on SQLite and MariaDB: the FIRST_ADMIN_* bootstrap at
start, and GET /users (admins only, paginated, oldest first)."""

import logging
import math
from contextlib import AbstractContextManager
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from main import create_app
from tests.support.app import (
    PASSWORD,
    app_client,
    assert_unauthenticated,
    assert_user_json,
    bearer,
    bootstrap_admin,
    login,
    make_settings,
    new_user,
    signup,
    unique_email,
)


@pytest.fixture(scope="module")
def admin_headers(database_url: str, app: FastAPI) -> dict[str, str]:
    return bootstrap_admin(database_url, restore=app)[1]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def start(database_url: str, app: FastAPI, **first_admin: str) -> AbstractContextManager[TestClient]:
    return app_client(database_url, restore=app, **{f"first_admin_{key}": value for key, value in first_admin.items()})


def total_users(client: TestClient, headers: dict[str, str]) -> int:
    response = client.get("/users", headers=headers, params={"items_per_page": 1})
    assert response.status_code == 200, response.text
    return response.json()["total_count"]


# bootstrap


def test_first_admin_settings_create_an_admin_at_start(database_url: str, app: FastAPI) -> None:
    email = unique_email("root")

    with start(database_url, app, email=email, password="admin password 1", name="루트 관리자 🛡") as client:
        me = client.get("/users/me", headers=bearer(login(client, email, "admin password 1")))

    assert me.status_code == 200
    assert_user_json(me.json())
    assert (me.json()["role"], me.json()["name"], me.json()["email"]) == ("ADMIN", "루트 관리자 🛡", email)


def test_the_first_admin_name_defaults_to_administrator(database_url: str, app: FastAPI) -> None:
    email = unique_email("root")

    with start(database_url, app, email=email, password=PASSWORD) as client:
        me = client.get("/users/me", headers=bearer(login(client, email)))

    assert me.json()["name"] == "Administrator"


def test_the_bootstrap_is_idempotent(database_url: str, app: FastAPI, admin_headers: dict[str, str]) -> None:
    email = unique_email("root")
    with start(database_url, app, email=email, password=PASSWORD) as client:
        first = client.get("/users/me", headers=bearer(login(client, email))).json()
        total = total_users(client, admin_headers)

    # A restart, even with other values for the account, changes nothing.
    with start(database_url, app, email=email.upper(), password="another password", name="Other") as client:
        again = client.get("/users/me", headers=bearer(login(client, email))).json()
        assert total_users(client, admin_headers) == total
        assert client.post("/users/login", data={"username": email, "password": "another password"}).status_code == 401

    assert again == first


def test_an_existing_user_is_left_as_it_is_with_a_warning(database_url: str, app: FastAPI, client: TestClient) -> None:
    email = unique_email()
    user = signup(client, name="Dexter", email=email)
    admin_app = create_app(
        make_settings(database_url, first_admin_email=email.upper(), first_admin_password="admin pw 1")
    )
    records = Records()
    logging.getLogger().addHandler(records)  # after create_app, which configures logging
    try:
        with TestClient(admin_app) as restarted:
            me = restarted.get("/users/me", headers=bearer(login(restarted, email)))
            refused = restarted.post("/users/login", data={"username": email, "password": "admin pw 1"})
    finally:
        logging.getLogger().removeHandler(records)
        app.state.container.wire()

    assert me.json() == user
    assert refused.status_code == 401
    warnings = [r.getMessage() for r in records.records if r.levelno == logging.WARNING]
    # FIRST_ADMIN_EMAIL is normalized like a signup (its domain lower-cased): compare case-insensitively.
    assert any(email in message.lower() and "not an ADMIN" in message for message in warnings), warnings


# GET /users


def test_only_an_admin_lists_users(client: TestClient) -> None:
    _, headers = new_user(client)

    response = client.get("/users", headers=headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "Not allowed"}
    assert_unauthenticated(client.get("/users"))


def test_the_list_has_its_shape_and_defaults(client: TestClient, admin_headers: dict[str, str]) -> None:
    for _ in range(2):
        signup(client)

    response = client.get("/users", headers=admin_headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"total_count", "page", "users"}
    assert body["page"] == 1
    assert len(body["users"]) == min(10, body["total_count"])
    for user in body["users"]:
        assert_user_json(user)


def users_on(client: TestClient, headers: dict[str, str], *, page: int, items_per_page: int) -> list[dict]:
    response = client.get("/users", headers=headers, params={"page": page, "items_per_page": items_per_page})
    assert response.status_code == 200, response.text
    return response.json()["users"]


def test_users_are_listed_oldest_first(client: TestClient, admin_headers: dict[str, str]) -> None:
    newest = [signup(client, name=f"Newcomer {number}") for number in range(3)]
    total = total_users(client, admin_headers)

    # With one user a page, the last three pages are the three newest users, in order.
    one_a_page = [
        users_on(client, admin_headers, page=page, items_per_page=1)[0] for page in range(total - 2, total + 1)
    ]
    last = math.ceil(total / 100)
    tail = [
        user
        for page in range(max(1, last - 1), last + 1)
        for user in users_on(client, admin_headers, page=page, items_per_page=100)
    ]

    assert one_a_page == newest
    assert tail[-3:] == newest
    created = [datetime.fromisoformat(user["created_at"]) for user in tail]
    assert created == sorted(created)


@pytest.mark.parametrize("beyond", [1, 1000, 10**12], ids=["next", "far", "huge"])
def test_a_page_past_the_end_is_empty_with_the_true_total(
    client: TestClient, admin_headers: dict[str, str], beyond: int
) -> None:
    total = total_users(client, admin_headers)
    page = math.ceil(total / 100) + beyond

    response = client.get("/users", headers=admin_headers, params={"page": page, "items_per_page": 100})

    assert response.status_code == 200
    assert response.json() == {"total_count": total, "page": page, "users": []}


@pytest.mark.parametrize("items_per_page", [1, 100])
def test_items_per_page_bounds_are_accepted(
    client: TestClient, admin_headers: dict[str, str], items_per_page: int
) -> None:
    response = client.get("/users", headers=admin_headers, params={"items_per_page": items_per_page})

    assert response.status_code == 200
    assert len(response.json()["users"]) == min(items_per_page, response.json()["total_count"])


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": "first"},
        {"page": 1.5},
        {"items_per_page": 0},
        {"items_per_page": 101},
        {"items_per_page": -5},
        {"items_per_page": "many"},
    ],
    ids=lambda params: "-".join(f"{key}={value}" for key, value in params.items()),
)
def test_pagination_out_of_bounds_is_422(client: TestClient, admin_headers: dict[str, str], params: dict) -> None:
    response = client.get("/users", headers=admin_headers, params=params)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
