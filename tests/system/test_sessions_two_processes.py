"""Two server processes on one database (SQLite and MariaDB), the way
``uvicorn --workers 2`` runs them: a logout, a logout-all or a deleted
personal access token through one is honoured by the other at once, since
the revocation lives in the database, not in a process's memory.

Two separate single-worker uvicorn processes rather than one ``--workers 2``,
so each request goes to the process the test names (the kernel spreads a
shared socket's connections as it likes).
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app import TEST_JWT_SECRET, bearer, create_personal_token, login, signup, unique_email
from tests.support.live_server import LiveServer, live_server, uvicorn_factory


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET, "LOG_LEVEL": "WARNING"}
    workdir: Path = tmp_path_factory.mktemp("two-processes")
    with (
        live_server(name="first", command=uvicorn_factory("main:create_app"), workdir=workdir / "a", env=env) as a,
        live_server(name="second", command=uvicorn_factory("main:create_app"), workdir=workdir / "b", env=env) as b,
    ):
        assert a.process.pid != b.process.pid
        yield a, b


@pytest.fixture
def clients(servers: tuple[LiveServer, LiveServer]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    first, second = servers
    with (
        httpx.Client(base_url=first.base_url, timeout=10) as a,
        httpx.Client(base_url=second.base_url, timeout=10) as b,
    ):
        yield a, b


def signed_in(client: httpx.Client) -> tuple[str, dict[str, str]]:
    email = unique_email("two-processes")
    signup(client, email=email)
    return email, bearer(login(client, email))


def test_a_logout_through_one_process_is_honoured_by_the_other_at_once(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    first, second = clients
    email, headers = signed_in(first)
    kept = bearer(login(second, email))
    assert second.get("/users/me", headers=headers).status_code == 200  # the other process knows it

    assert first.post("/users/logout", headers=headers).status_code == 204

    refused = second.get("/users/me", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert second.get("/users/me", headers=kept).status_code == 200
    assert first.get("/users/me", headers=kept).status_code == 200


def test_a_logout_all_through_one_process_is_honoured_by_the_other_at_once(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    first, second = clients
    email, headers = signed_in(first)
    other = bearer(login(second, email))
    personal = bearer(create_personal_token(first, headers)["token"])

    assert second.post("/users/logout-all", headers=other).status_code == 204

    for client in (first, second):
        assert client.get("/users/me", headers=headers).status_code == 401
        assert client.get("/users/me", headers=other).status_code == 401
        assert client.get("/users/me", headers=personal).status_code == 200


def test_a_personal_token_deleted_through_one_process_stops_working_in_the_other(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    first, second = clients
    _, headers = signed_in(first)
    created = create_personal_token(first, headers)
    assert second.get("/notes", headers=bearer(created["token"])).status_code == 200

    assert first.delete(f"/users/me/tokens/{created['id']}", headers=headers).status_code == 204

    assert second.get("/notes", headers=bearer(created["token"])).status_code == 401
