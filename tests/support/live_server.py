"""A real server in a subprocess, with its stdout and stderr kept line by line.

``live_server(...)`` starts ``python main.py`` or ``uvicorn ...`` in a fresh
temporary working directory on a free port, waits until ``/health`` answers,
and always stops the process (terminate, then kill) when the ``with`` block
ends, whatever happened in it. Every line the server writes also goes to
``tests/support/log_audit.py``.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from main import PROJECT_ROOT
from tests.support import log_audit
from tests.support.ports import free_port

PYTHON = sys.executable
# The service's own variables: a server under test gets only what the test gives it.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "JWT_SECRET",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_SECURITY",
    "FIRST_ADMIN_EMAIL",
    "FIRST_ADMIN_PASSWORD",
    "FIRST_ADMIN_NAME",
    "LOG_LEVEL",
    "DATA_DIR",
    "PUBLIC_URL",
    "CORS_ORIGINS",
    "TRUSTED_HOSTS",
    "FORWARDED_ALLOW_IPS",  # uvicorn's CLI reads it too
)
STARTUP_SECONDS = 30.0
PORT_ATTEMPTS = 3


@dataclass
class LiveServer:
    name: str
    base_url: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stdout_lines(self) -> list[str]:
        with self._lock:
            return self.stdout[:]

    def stderr_lines(self) -> list[str]:
        with self._lock:
            return self.stderr[:]

    def records(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed: fails if any line is not a JSON object."""
        parsed = []
        for line in self.stdout_lines():
            record = orjson.loads(line)
            assert isinstance(record, dict), line
            parsed.append(record)
        return parsed

    def wait_for(self, found: Callable[[list[dict[str, Any]]], bool], *, seconds: float = 10.0) -> list[dict[str, Any]]:
        """The parsed lines, once ``found(lines)`` holds (the request line follows the response by a moment)."""
        deadline = time.monotonic() + seconds
        while True:
            records = self.records()
            if found(records):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: not logged within {seconds}s; stdout: {self.stdout_lines()[-20:]}")
            time.sleep(0.02)

    def request_lines(self, request_id: str, *, seconds: float = 10.0) -> list[dict[str, Any]]:
        """The request lines with ``request_id``, after waiting for the first one."""

        def logged(records: list[dict[str, Any]]) -> bool:
            return any(is_request_line(r) and r["request_id"] == request_id for r in records)

        records = self.wait_for(logged, seconds=seconds)
        return [r for r in records if is_request_line(r) and r["request_id"] == request_id]

    def _keep(self, *, stream: IO[bytes], lines: list[str], source: str) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "backslashreplace").rstrip("\n")
            with self._lock:
                lines.append(line)
            log_audit.add_line(line, source=source)


def is_request_line(record: dict[str, Any]) -> bool:
    """The activity log's line (SPEC §7), told apart from others by its fields."""
    return record.get("event") == "request" and "method" in record and "status" in record


def server_env(**variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    env.update(variables)
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """If pytest itself is killed, the server goes too (Linux prctl PR_SET_PDEATHSIG)."""
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class _PortTaken(RuntimeError):
    """Someone bound the free port between our probe and the server's bind."""


@contextmanager
def live_server(
    *, name: str, command: list[str], workdir: Path, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run ``command`` (``{port}`` in it is replaced) with ``HOST``/``PORT`` set, in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server, readers = _spawn(name=name, command=command, workdir=workdir, env=env or {})
        try:
            _wait_until_up(server)
        except _PortTaken:
            _stop(server, readers)
            if attempt == PORT_ATTEMPTS:
                raise
            continue
        except BaseException:
            _stop(server, readers)
            raise
        break
    try:
        yield server
    finally:
        _stop(server, readers)
        secret = workdir / "data" / "jwt_secret"
        if secret.exists():
            log_audit.remember_secret(secret.read_text().strip(), what=f"{name}'s generated JWT secret")


def _spawn(
    *, name: str, command: list[str], workdir: Path, env: dict[str, str]
) -> tuple[LiveServer, list[threading.Thread]]:
    port = free_port()
    process = subprocess.Popen(
        [part.format(port=port) for part in command],
        cwd=workdir,
        env=server_env(HOST="127.0.0.1", PORT=str(port), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks involved
    )
    server = LiveServer(name=name, base_url=f"http://127.0.0.1:{port}", port=port, workdir=workdir, process=process)
    streams = ((process.stdout, server.stdout, "stdout"), (process.stderr, server.stderr, "stderr"))
    readers = [
        threading.Thread(
            target=server._keep,
            kwargs={"stream": stream, "lines": lines, "source": f"{name}:{label}"},
            daemon=True,
        )
        for stream, lines, label in streams
    ]
    for reader in readers:
        reader.start()
    return server, readers


def _stop(server: LiveServer, readers: list[threading.Thread]) -> None:
    """Terminate, then kill if it lingers; then take the last lines."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for reader in readers:
        reader.join(timeout=5)


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            time.sleep(0.2)  # let the readers take the last lines
            output = "\n".join(server.stdout_lines()[-20:] + server.stderr_lines()[-20:])
            error = _PortTaken if "address already in use" in output else RuntimeError
            raise error(f"{server.name} exited with {server.process.returncode}:\n{output}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer /health within {STARTUP_SECONDS}s")


def main_py() -> list[str]:
    """``python main.py`` of this checkout."""
    return [PYTHON, str(PROJECT_ROOT / "main.py")]


def uvicorn_factory(target: str, *extra: str) -> list[str]:
    """``uvicorn TARGET --factory`` on ``{port}``, importing from this checkout."""
    return [PYTHON, "-m", "uvicorn", target, "--factory", "--app-dir", str(PROJECT_ROOT), "--port", "{port}", *extra]
