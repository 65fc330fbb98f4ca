"""Helpers shared by the test tiers: settings, migrations, unique data, HTTP shortcuts."""

import os
import uuid
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

from config import Settings, load_settings
from main import PROJECT_ROOT

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"


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
    response = client.post("/users", json={"name": name, "email": email or unique_email(), "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    response = client.post("/users/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(client: TestClient, **fields: Any) -> tuple[dict, dict[str, str]]:
    """Sign up a fresh user and log in: its JSON and its auth header."""
    fields.setdefault("email", unique_email())
    user = signup(client, **fields)
    token = login(client, fields["email"], fields.get("password", PASSWORD))
    return user, bearer(token)
