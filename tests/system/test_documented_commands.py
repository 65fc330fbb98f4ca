"""The documented commands work exactly as typed in the checkout, with the virtualenv's scripts and no PYTHONPATH.

``celery -A common.messaging.celery worker --loglevel=info`` (SPEC §6, §8):
the console script puts the working directory on ``sys.path`` only while it
imports the app, so a worker used to stop at ``No module named
'containers'``; the other tests start workers with ``PYTHONPATH`` set and
could not see it. Here a worker started that way sends a welcome email.
``alembic upgrade head`` and ``uvicorn main:create_app --factory`` the same way.
These start real processes (the system tier).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from database.engine import build_engine, build_session_factory
from main import create_app
from tests.support.app import PASSWORD, make_settings, unique_email
from tests.support.email import outbox_row, rabbitmq_vhost, smtp_sink, wait_until, worker_env
from tests.support.ports import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(sys.executable).parent  # the virtualenv's bin/
SECRET = "ci-only-secret-that-is-long-enough-0123456789"


def plain_env(**values: str) -> dict[str, str]:
    """What a user's shell has: no PYTHONPATH, nothing of the test run."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(values)
    return env


@contextlib.contextmanager
def running(command: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in the checkout, in a process group of its own, stopped at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(process.pid, signal.SIGKILL)


def events(log: Path) -> list[dict[str, object]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


@pytest.mark.rabbitmq
@pytest.mark.mariadb
def test_the_documented_worker_command_sends_a_welcome_email(mariadb_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with rabbitmq_vhost("til_test_command") as broker_url, smtp_sink() as sink:
        env = worker_env(database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port)
        del env["PYTHONPATH"]
        command = [str(SCRIPTS / "celery"), "-A", "common.messaging.celery", "worker", "--loglevel=info"]
        with running(command, env=env, log=log) as worker:

            def ready() -> bool:
                if worker.poll() is not None:
                    raise AssertionError(f"the worker exited:\n{log.read_text()[-3000:]}")
                return any(str(e.get("event", "")).endswith(" ready.") for e in events(log))

            wait_until(ready, timeout=60, what="the worker to be ready", interval=0.1)
            email = unique_email("command")
            settings = make_settings(
                mariadb_url, celery_broker_url=broker_url, smtp_host="127.0.0.1", smtp_port=sink.port
            )
            with TestClient(create_app(settings)) as client:
                response = client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD})
                assert response.status_code == 201, response.text

            [delivered] = sink.wait_for({email}, timeout=30)
            assert delivered.message["Subject"] == "회원가입을 환영합니다."

    engine = build_engine(mariadb_url)
    try:
        row = outbox_row(build_session_factory(engine), email)
    finally:
        engine.dispose()
    assert row.is_sent
    assert row.id in {e.get("outbox_id") for e in events(log) if e.get("event") == "email sent"}
    assert "No module named" not in log.read_text()


def test_alembic_and_uvicorn_work_as_typed(tmp_path: Path) -> None:
    env = plain_env(DATABASE_URL=f"sqlite:///{tmp_path / 'til.db'}", JWT_SECRET=SECRET)

    upgrade = subprocess.run(
        [str(SCRIPTS / "alembic"), "upgrade", "head"],
        check=False,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr.decode()
    current = subprocess.run(
        [str(SCRIPTS / "alembic"), "current"], check=False, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120
    )
    assert "(head)" in current.stdout.decode(), current.stderr.decode()

    port = free_port()
    command = [str(SCRIPTS / "uvicorn"), "main:create_app", "--factory", "--port", str(port)]
    with running(command, env=env, log=tmp_path / "uvicorn.log") as server:

        def health() -> httpx.Response | None:
            if server.poll() is not None:
                raise AssertionError(f"uvicorn exited:\n{(tmp_path / 'uvicorn.log').read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            return None

        response = wait_until(health, timeout=60, what="uvicorn to answer")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok", "broker": "disabled"}
