"""The real server as a separate process, over real HTTP, started the way the
README says: ``python main.py`` on a fresh directory (SQLite under ./data/),
and ``uvicorn main:create_app --factory --workers 2`` after
``alembic upgrade head``. A wrong setting stops the start with one line."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from config import Settings
from main import PROJECT_ROOT, create_app
from tests.support.app import PASSWORD, make_settings, unique_email
from tests.support.ports import free_port

PYTHON = sys.executable  # the virtualenv's python, as in `.venv/bin/python main.py`
UVICORN = str(Path(sys.executable).parent / "uvicorn")
START_TIMEOUT_SECONDS = 45
STOP_TIMEOUT_SECONDS = 15
SETTINGS_VARIABLES = {name.upper() for name in Settings.model_fields}


def fresh_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any of the service's settings, plus ``variables``."""
    environment = {key: value for key, value in os.environ.items() if key.upper() not in SETTINGS_VARIABLES}
    environment.update(variables)
    return environment


@contextmanager
def running(command: list[str], *, cwd: Path, environment: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Start ``command`` in its own process group; stop it (SIGTERM, then SIGKILL) on exit."""
    with (cwd / "stdout.log").open("wb") as stdout, (cwd / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=stdout, stderr=stderr, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def wait_until_healthy(base_url: str, process: subprocess.Popen, cwd: Path) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {(cwd / 'stderr.log').read_text()[-2000:]}")
        try:
            response = httpx.get(f"{base_url}/health", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no healthy server at {base_url} after {START_TIMEOUT_SECONDS}s")


def signup_and_login(base_url: str) -> tuple[dict, str]:
    email = unique_email("process")
    created = httpx.post(f"{base_url}/users", json={"name": "Dexter", "email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = httpx.post(f"{base_url}/users/login", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return created.json(), token.json()["access_token"]


def me(base_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {token}"})


def test_python_main_py_serves_the_api_on_a_fresh_directory(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = fresh_environment(HOST="127.0.0.1", PORT=str(port))
    command = [PYTHON, str(PROJECT_ROOT / "main.py")]

    with running(command, cwd=tmp_path, environment=environment) as server:
        health = wait_until_healthy(base_url, server, tmp_path)
        user, token = signup_and_login(base_url)
        response = me(base_url, token)
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.wait(timeout=STOP_TIMEOUT_SECONDS) in (0, -signal.SIGTERM)

    assert health == {"status": "ok", "database": "ok", "broker": "disabled"}
    assert response.status_code == 200
    assert response.json() == user
    assert (tmp_path / "data" / "til.db").is_file()
    assert (tmp_path / "data" / "jwt_secret").is_file()
    assert "Application shutdown complete" in (tmp_path / "stdout.log").read_text()

    # The generated key is kept in ./data/: tokens survive a restart.
    with running(command, cwd=tmp_path, environment=environment) as server:
        wait_until_healthy(base_url, server, tmp_path)
        assert me(base_url, token).json() == user


CONFIGURATION_ERRORS = {
    "jwt-secret-31-bytes": ("JWT_SECRET", "s" * 31),
    "jwt-secret-31-bytes-16-characters": ("JWT_SECRET", "é" * 15 + "s"),
    "port-not-a-number": ("PORT", "abc"),
    "database-url-malformed": ("DATABASE_URL", "not a url"),
    "database-url-unknown-database": ("DATABASE_URL", "nosuchdb://user@host/db"),
    "public-url-not-http": ("PUBLIC_URL", "ftp://til.example.com"),
    "public-url-not-a-url": ("PUBLIC_URL", "til.example.com"),
    "public-url-port-not-a-number": ("PUBLIC_URL", "https://til.example.com:abc"),
    # Well formed, but no server listens there: not a bug either, so no traceback.
    "database-url-unreachable": ("DATABASE_URL", "mysql+pymysql://til:secret@127.0.0.1:9/til?charset=utf8mb4"),
}


@pytest.mark.parametrize(("variable", "value"), CONFIGURATION_ERRORS.values(), ids=CONFIGURATION_ERRORS.keys())
def test_a_wrong_setting_stops_the_start_with_one_line_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    environment = fresh_environment(**{"HOST": "127.0.0.1", "PORT": str(free_port()), variable: value})

    result = subprocess.run(
        [PYTHON, str(PROJECT_ROOT / "main.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert value not in lines[0] or variable != "JWT_SECRET", "the secret itself must not be echoed"


def worker_processes(master: int) -> int:
    """How many multiprocessing workers ``master`` runs (Linux /proc)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                count += "spawn_main" in (entry / "cmdline").read_text()
        except (OSError, IndexError, ValueError):
            continue
    return count


def test_uvicorn_workers_serve_one_database_after_alembic_upgrade(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = fresh_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'til.db'}",
        LOGIN_MAX_FAILURES="3",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    migration = subprocess.run(
        [PYTHON, "-m", "alembic", "-c", str(PROJECT_ROOT / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )
    assert migration.returncode == 0, migration.stderr
    command = [
        UVICORN,
        "main:create_app",
        "--factory",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--app-dir",
        str(PROJECT_ROOT),
    ]

    with running(command, cwd=tmp_path, environment=environment) as server:
        wait_until_healthy(base_url, server, tmp_path)
        workers = worker_processes(server.pid)
        user, token = signup_and_login(base_url)
        # Both workers read the one generated key and the one database.
        answers = [me(base_url, token) for _ in range(12)]
        email = user["email"]
        failures = [
            httpx.post(f"{base_url}/users/login", data={"username": email, "password": "not the password"})
            for _ in range(3)
        ]
        locked = httpx.post(f"{base_url}/users/login", data={"username": email, "password": PASSWORD})

    assert workers == 2
    assert all(answer.status_code == 200 and answer.json() == user for answer in answers)
    assert [failure.status_code for failure in failures] == [401, 401, 401]
    assert locked.status_code == 429


def test_the_app_factory_never_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'untouched.db'}"

    create_app(make_settings(url))

    engine = create_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
