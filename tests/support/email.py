"""The real parts the welcome-email tests run against.

- ``SmtpSink``: an aiosmtpd server in this process that keeps exactly what it
  accepted, can be stopped and started again (SMTP down, SMTP back), and can
  hold its reply to DATA (the window in which a worker is killed mid-send).
- ``CeleryWorker``: ``celery -A common.messaging.celery worker`` as a
  subprocess in its own process group, killed (``SIGKILL``) or stopped by
  the test, and always cleaned up.
- ``BrokerProxy``: a TCP proxy in front of RabbitMQ (``tests/support/net_proxy.py``), so
  that the broker can go down and come back for every process at once without
  touching RabbitMQ.
- ``rabbitmq_vhost``: a fresh vhost for a test session, deleted at the end.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mail.domain.outbox_email import OutboxEmail
from mail.infra.db_models import OutboxEmailRow
from mail.infra.mappers import outbox_email_from_row
from main import PROJECT_ROOT
from tests.support.app import TEST_JWT_SECRET, service_missing
from tests.support.net_proxy import TcpProxy, via_port  # noqa: F401 - via_port: re-exported for the Celery tests
from tests.support.ports import free_port

CELERY = str(Path(sys.executable).with_name("celery"))


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Delivered:
    envelope_to: tuple[str, ...]
    message: EmailMessage

    @property
    def recipient(self) -> str:
        return self.envelope_to[0]

    def part(self, content_type: str) -> str:
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert body is not None, f"no {content_type} part"
        assert body.get_content_type() == content_type, f"no {content_type} part"
        return body.get_content()


class SmtpSink:
    """An SMTP server that keeps every message it accepted (the reply ``250`` was sent)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._delivered: list[Delivered] = []
        self._controller: Controller | None = None
        self._hold = False
        self._release = threading.Event()
        self.held = threading.Event()  # set when a DATA reply is being held
        self.aborted = 0  # held messages whose client went away before the reply

    # -- server ----------------------------------------------------------
    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hold_replies(self) -> None:
        """From now on, a DATA reply waits for ``release``."""
        self._release.clear()
        self.held.clear()
        self._hold = True

    def release(self) -> None:
        self._hold = False
        self._release.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self._hold:
            self.held.set()
            try:
                while not self._release.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # the client went away: no reply, nothing accepted
                self.aborted += 1
                raise
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._delivered.append(Delivered(envelope_to=tuple(envelope.rcpt_tos), message=message))
        return "250 Message accepted for delivery"

    # -- what arrived ----------------------------------------------------
    def delivered(self) -> list[Delivered]:
        with self._lock:
            return list(self._delivered)

    def to(self, recipient: str) -> list[Delivered]:
        return [d for d in self.delivered() if recipient in d.envelope_to]

    def wait_for(self, recipients: set[str], *, timeout: float) -> list[Delivered]:
        """Every message to ``recipients``, once each of them has at least one."""

        def arrived() -> list[Delivered] | None:
            mine = [d for d in self.delivered() if set(d.envelope_to) & recipients]
            return mine if {d.recipient for d in mine} >= recipients else None

        return wait_until(arrived, timeout=timeout, what=f"{len(recipients)} email(s) at the SMTP sink")


@contextlib.contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.release()
        sink.stop()


def outbox_rows(session_factory: sessionmaker[Session], recipient: str) -> list[OutboxEmail]:
    with session_factory() as session:
        rows = session.scalars(select(OutboxEmailRow).where(OutboxEmailRow.recipient == recipient)).all()
        return [outbox_email_from_row(row) for row in rows]


def outbox_row(session_factory: sessionmaker[Session], recipient: str) -> OutboxEmail:
    rows = outbox_rows(session_factory, recipient)
    assert len(rows) == 1, f"{len(rows)} outbox rows for {recipient}"
    return rows[0]


# -- RabbitMQ ----------------------------------------------------------------


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def rabbitmq_vhost(prefix: str = "til_test_email") -> Iterator[str]:
    """A fresh vhost ``<prefix>_<random>`` on the RabbitMQ of ``TEST_BROKER_URL``, the URL's user allowed on it."""
    base = os.environ.get("TEST_BROKER_URL")
    if not base:
        service_missing("TEST_BROKER_URL is not set: the Celery email tests need a RabbitMQ server")
    assert base is not None
    parts = urlsplit(base)
    if shutil.which("rabbitmqctl") is None:
        service_missing("rabbitmqctl is not on PATH: the Celery email tests create a vhost with it")
    with socket.socket() as sock:
        sock.settimeout(3)
        if sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or 5672)) != 0:
            service_missing(f"TEST_BROKER_URL does not answer: {parts.hostname}:{parts.port or 5672}")
    vhost = f"{prefix}_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield urlunsplit(parts._replace(path=f"/{vhost}"))
    finally:
        rabbitmqctl("delete_vhost", vhost)


# The TCP proxy moved to tests/support/net_proxy.py (shared with the database outage tests).
BrokerProxy = TcpProxy


# -- Celery workers ----------------------------------------------------------


class CeleryWorker:
    """``celery -A common.messaging.celery worker`` in its own process group, logging to a file."""

    def __init__(self, *, name: str, env: dict[str, str], directory: Path, concurrency: int = 2) -> None:
        self.name = name
        self._env = env
        self._directory = directory
        self._concurrency = concurrency
        self.log_path = directory / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "CeleryWorker":
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    CELERY,
                    "-A",
                    "common.messaging.celery",
                    "worker",
                    "--loglevel=info",
                    f"--concurrency={self._concurrency}",
                    "-n",
                    f"{self.name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=self._directory,  # no stray .env
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def events(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines (Celery's banner is not JSON and is left out)."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found

    def logged(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())]

    def wait_ready(self, timeout: float = 60) -> "CeleryWorker":
        def ready() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            return any(str(e.get("event", "")).endswith(" ready.") for e in self.events())

        wait_until(ready, timeout=timeout, what=f"worker {self.name} to be ready", interval=0.1)
        return self

    def kill(self) -> None:
        """``SIGKILL`` to the whole worker: the main process and its pool processes."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)

    def terminate(self) -> None:
        """Ask for a warm shutdown (``SIGTERM``)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 3) -> None:
        """A warm shutdown, or ``SIGKILL`` if it takes more than ``timeout`` seconds."""
        if self._process is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=timeout)
        self.kill()
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self._process.pid, signal.SIGKILL)


@contextlib.contextmanager
def celery_workers(directory: Path) -> Iterator[Callable[..., CeleryWorker]]:
    """``start(name, env)`` starts a worker; every one is stopped at the end, even on failure."""
    started: list[CeleryWorker] = []

    def start(name: str, env: dict[str, str], *, concurrency: int = 2) -> CeleryWorker:
        worker = CeleryWorker(name=name, env=env, directory=directory, concurrency=concurrency)
        started.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.stop()


def worker_env(*, database_url: str, broker_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment of a worker: only what the service reads, plus the project on the path."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        JWT_SECRET=TEST_JWT_SECRET,
        EMAIL_SENDER="welcome@til.test",
        EMAIL_RELAY_INTERVAL_SECONDS="0.3",
        EMAIL_RETRY_BASE_SECONDS="0.5",
        EMAIL_RETRY_MAX_SECONDS="2",
        SMTP_TIMEOUT_SECONDS="10",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env
