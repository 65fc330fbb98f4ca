"""Helpers shared by the test tiers: settings, migrations, unique data, HTTP shortcuts."""

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import Settings, load_settings
from main import PROJECT_ROOT, create_app
from tests.support import log_audit

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"
# Never in a log line: tests/system/test_log_secrets.py checks every line the session logged.
log_audit.remember_secret(TEST_JWT_SECRET, what="the test JWT secret")
log_audit.remember_secret(PASSWORD, what="the test password")


def require_services() -> bool:
    """Under ``.ci/run`` a missing service is a failure, never a skip."""
    return os.environ.get("TEST_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    if require_services():
        pytest.fail(f"{reason} (TEST_REQUIRE_SERVICES=1: a missing service fails the run)")
    pytest.skip(reason)


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


@contextmanager
def sibling_mariadb(database_url: str, suffix: str) -> Iterator[str]:
    """A new, empty database beside ``database_url``'s, named after it with ``suffix``; dropped afterwards.

    For tests the shared test database would disturb, or that would disturb it:
    no other test, live server or relay of the session can see in.
    """
    url = make_url(database_url)
    scratch = url.set(database=f"{url.database}{suffix}")
    server = create_engine(url.set(database=None))
    try:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{scratch.database}`"))
            connection.execute(text(f"CREATE DATABASE `{scratch.database}` CHARACTER SET utf8mb4"))
        yield scratch.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{scratch.database}`"))
        server.dispose()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "log_level": "INFO",
    }
    values.update(overrides)
    return load_settings(**values)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def signup(client: TestClient, *, name: str = "Tester", email: str | None = None, password: str = PASSWORD) -> dict:
    log_audit.remember_secret(password, what="a password used at signup")
    response = client.post("/users", json={"name": name, "email": email or unique_email(), "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    log_audit.remember_secret(password, what="a password used at login")
    response = client.post("/users/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    log_audit.remember_token(token)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(client: TestClient, **fields: Any) -> tuple[dict, dict[str, str]]:
    """Sign up a fresh user and log in: its JSON and its auth header."""
    fields.setdefault("email", unique_email())
    user = signup(client, **fields)
    token = login(client, fields["email"], fields.get("password", PASSWORD))
    return user, bearer(token)


@contextmanager
def app_client(database_url: str, *, restore: FastAPI, **overrides: Any) -> Iterator[TestClient]:
    """A client of an app built with other settings (``overrides``) on the same database.

    dependency-injector wires the route modules to the container built last,
    so on exit the ``restore`` app (usually the session's ``app`` fixture)
    takes the wiring back.
    """
    try:
        with TestClient(create_app(make_settings(database_url, **overrides))) as client:
            yield client
    finally:
        restore.state.container.wire()


def bootstrap_admin(database_url: str, *, restore: FastAPI) -> tuple[dict, dict[str, str]]:
    """An ADMIN created the way an operator does it (``FIRST_ADMIN_*`` at start): its JSON and auth header."""
    email = unique_email("admin")
    with app_client(database_url, restore=restore, first_admin_email=email, first_admin_password=PASSWORD) as client:
        headers = bearer(login(client, email))
        response = client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "ADMIN"
    return response.json(), headers


USER_KEYS = {"id", "name", "email", "role", "email_verified", "timezone", "digest", "created_at", "updated_at"}
ULID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # Crockford base32


def assert_utc_timestamp(value: str) -> datetime:
    """ISO 8601 with an explicit UTC offset; returns the parsed value."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def assert_user_json(body: Any) -> None:
    """A user object of SPEC §4: exactly its keys, a ULID id, UTC timestamps, nothing secret."""
    assert isinstance(body, dict), body
    assert set(body) == USER_KEYS, body
    assert ULID_PATTERN.fullmatch(body["id"]), body["id"]
    assert body["role"] in ("USER", "ADMIN")
    assert isinstance(body["email_verified"], bool)
    assert assert_utc_timestamp(body["created_at"]) <= assert_utc_timestamp(body["updated_at"])


def assert_unauthenticated(response: Any) -> None:
    """401 with ``WWW-Authenticate: Bearer`` and a JSON ``detail``."""
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def create_personal_token(
    client: Any, headers: dict[str, str], *, name: str = "script", expires_in_days: int | None = None
) -> dict:
    """``POST /users/me/tokens`` with a login token: the 201 body, whose ``token`` is remembered as a secret."""
    response = client.post("/users/me/tokens", headers=headers, json={"name": name, "expires_in_days": expires_in_days})
    assert response.status_code == 201, response.text
    body = response.json()
    log_audit.remember_secret(body["token"], what="a personal access token")
    return body
