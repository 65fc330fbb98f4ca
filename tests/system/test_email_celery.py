"""The welcome email through Celery on the real RabbitMQ, sent by real worker processes.

Each test session gets a fresh vhost (deleted at the end); workers are
``celery -A common.messaging.celery worker`` subprocesses that the tests
start, kill and stop. These scenarios run on MariaDB only (the production
database, with ``SKIP LOCKED``); the outbox's claiming is tested on SQLite
too in ``tests/integration/test_outbox_claiming.py``.
"""

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from common.ulid_ids import UlidIdGenerator
from containers import Container
from database.engine import build_engine, build_session_factory
from mail.domain.outbox_email import EmailKind, OutboxEmail
from mail.infra.celery_app import build_celery_app
from mail.infra.celery_tasks import DELIVER_EMAIL_TASK
from mail.infra.unit_of_work import SqlAlchemyMailUnitOfWork
from main import create_app
from tests.support.app import PASSWORD, make_settings, unique_email
from tests.support.email import (
    BrokerProxy,
    CeleryWorker,
    Delivered,
    SmtpSink,
    celery_workers,
    outbox_row,
    outbox_rows,
    rabbitmq_vhost,
    smtp_sink,
    via_port,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.mariadb]

SENDER = "welcome@til.test"
StartWorker = Callable[..., CeleryWorker]


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture(scope="module")
def db(mariadb_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(mariadb_url)
    yield build_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    with celery_workers(tmp_path) as start:
        yield start


def celery_client(database_url: str, *, broker_url: str, sink: SmtpSink) -> TestClient:
    return TestClient(
        create_app(
            make_settings(
                database_url,
                celery_broker_url=broker_url,
                smtp_host="127.0.0.1",
                smtp_port=sink.port,
                email_sender=SENDER,
            )
        )
    )


def signup(client: TestClient, email: str) -> float:
    """Sign up; the seconds the answer took."""
    started = time.perf_counter()
    response = client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return time.perf_counter() - started


def test_fifty_parallel_signups_get_exactly_fifty_emails_through_a_worker(
    mariadb_url: str, broker_url: str, db: sessionmaker[Session], sink: SmtpSink, start_worker: StartWorker
) -> None:
    worker = start_worker("w1", worker_env(database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port))
    worker.wait_ready()
    emails = [unique_email("celery") for _ in range(50)]

    with celery_client(mariadb_url, broker_url=broker_url, sink=sink) as client:
        assert client.get("/health").json() == {"status": "ok", "database": "ok", "broker": "ok"}
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda email: signup(client, email), emails))

    sink.wait_for(set(emails), timeout=60)
    rows = {email: outbox_row(db, email) for email in emails}
    wait_until(lambda: all(outbox_row(db, email).is_sent for email in emails), timeout=10, what="rows marked sent")
    time.sleep(1)  # anything sent twice would arrive now
    assert Counter(d.recipient for d in sink.delivered() if d.recipient in rows) == dict.fromkeys(emails, 1)
    for delivered in (d for d in sink.delivered() if d.recipient in rows):
        email = delivered.recipient
        assert delivered.message["Subject"] == "회원가입을 환영합니다."
        assert delivered.message["Message-ID"] == f"<{rows[email].id}@til.test>"
    # The worker sent them (the web process has no sender in this mode), logging each outbox id.
    assert {e["outbox_id"] for e in worker.logged("email sent")} >= {row.id for row in rows.values()}


def test_broker_down_at_signup_then_back_delivers_with_nothing_run_by_hand(
    mariadb_url: str, broker_url: str, db: sessionmaker[Session], sink: SmtpSink, start_worker: StartWorker
) -> None:
    target = urlsplit(broker_url)
    proxy = BrokerProxy(target.hostname or "127.0.0.1", target.port or 5672)
    proxy.up()
    proxied = via_port(broker_url, proxy.port)
    try:
        worker = start_worker("w1", worker_env(database_url=mariadb_url, broker_url=proxied, smtp_port=sink.port))
        worker.wait_ready()
        with celery_client(mariadb_url, broker_url=proxied, sink=sink) as client:
            proxy.down()  # RabbitMQ is gone for everyone: the web process and the worker
            health = client.get("/health")
            assert (health.status_code, health.json()) == (
                503,
                {"status": "unavailable", "database": "ok", "broker": "unavailable"},
            )
            email = unique_email("broker-down")

            assert signup(client, email) < 1.0

            # The publish runs after the response on the email threads; failing, it releases its claim.
            row = wait_until(
                lambda: (pending := outbox_row(db, email)).claimed_by is None and pending,
                timeout=10,
                what="the failed publish releasing its claim",
            )
            assert not row.is_sent
            time.sleep(1.5)
            assert sink.to(email) == []  # nothing can carry it while the broker is down

            proxy.up()

            sink.wait_for({email}, timeout=45)
            assert client.get("/health").json()["broker"] == "ok"
        wait_until(lambda: outbox_row(db, email).is_sent, timeout=10, what="the row marked sent")
        assert worker.logged("relaying a pending email", outbox_id=row.id)
        time.sleep(0.5)
        assert len(sink.to(email)) == 1
    finally:
        proxy.down()


def test_a_worker_killed_while_sending_does_not_lose_the_email_nor_send_it_twice(
    mariadb_url: str, broker_url: str, db: sessionmaker[Session], sink: SmtpSink, start_worker: StartWorker
) -> None:
    env = worker_env(database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port)
    first = start_worker("w1", env, concurrency=1)
    first.wait_ready()
    sink.hold_replies()  # the SMTP server will sit on its reply to DATA
    email = unique_email("killed")

    with celery_client(mariadb_url, broker_url=broker_url, sink=sink) as client:
        signup(client, email)
    assert sink.held.wait(30), "the worker never reached DATA"
    claim = outbox_row(db, email).claimed_by
    first.kill()  # SIGKILL, main and pool processes, before the server said 250
    wait_until(lambda: sink.aborted == 1, timeout=10, what="the SMTP server to see the client go")
    sink.release()
    assert sink.to(email) == []
    in_flight = outbox_row(db, email)
    assert (in_flight.is_sent, in_flight.attempts, in_flight.claimed_by) == (False, 1, claim)

    second = start_worker("w2", env)  # RabbitMQ hands it the unacknowledged task again
    second.wait_ready()

    sink.wait_for({email}, timeout=30)
    sent = wait_until(lambda: (row := outbox_row(db, email)).is_sent and row, timeout=10, what="the row marked sent")
    # The same task (same id, so same claim) finished the job: a redelivery, not the relay.
    assert (sent.attempts, sent.claimed_by) == (2, claim)
    assert second.logged("email sent", outbox_id=sent.id)

    # The same task delivered once more, now that the row is sent: nothing goes out.
    publisher = build_celery_app(broker_url=broker_url, result_backend=None)
    publisher.send_task(DELIVER_EMAIL_TASK, args=[sent.id], task_id=claim)
    wait_until(
        lambda: second.logged("email not sent: already sent", outbox_id=sent.id, claim=claim),
        timeout=20,
        what="the worker to take the redelivered task",
    )
    time.sleep(0.5)
    assert len(sink.to(email)) == 1
    assert outbox_row(db, email).attempts == 2


def test_two_workers_and_two_relays_over_a_hundred_pending_emails_send_each_once(
    mariadb_url: str, broker_url: str, db: sessionmaker[Session], sink: SmtpSink, start_worker: StartWorker
) -> None:
    env = worker_env(database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port)
    workers = [start_worker("w1", env), start_worker("w2", env)]
    for worker in workers:
        worker.wait_ready()
    # Two more relays, of the kind a web process without a broker runs (they send themselves).
    settings = make_settings(
        mariadb_url,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        email_sender=SENDER,
        email_relay_interval_seconds=0.2,
    )
    containers = [Container(settings=settings) for _ in range(2)]
    relays = [container.email_relay() for container in containers]
    ids, now = UlidIdGenerator(), datetime.now(UTC)
    emails = [unique_email(f"pending-{n}") for n in range(100)]
    with SqlAlchemyMailUnitOfWork(db) as uow:
        for email in emails:
            uow.outbox.add(
                OutboxEmail(
                    id=ids.new_id(),
                    recipient=email,
                    kind=EmailKind.WELCOME,
                    payload={"name": "Pending"},
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        uow.commit()

    for relay in relays:
        relay.start()
    try:
        sink.wait_for(set(emails), timeout=90)
        wait_until(lambda: all(outbox_row(db, email).is_sent for email in emails), timeout=15, what="all rows sent")
        time.sleep(1)
    finally:
        for relay in relays:
            relay.stop()
        for container in containers:
            container.engine().dispose()

    assert Counter(d.recipient for d in sink.delivered() if d.recipient in set(emails)) == dict.fromkeys(emails, 1)


# The account emails of SPEC §10 (verification in the welcome email, reset, password changed), through the worker.

ACCOUNT_TOKEN = re.compile(r"\?token=([A-Za-z0-9_-]{43,})")
NEW_PASSWORD = "reset through a worker"


def arrived(sink: SmtpSink, recipient: str, subject: str) -> Delivered:
    def found() -> list[Delivered]:
        return [d for d in sink.to(recipient) if d.message["Subject"] == subject]

    [delivered] = wait_until(found, timeout=30, what=f"'{subject}' to {recipient} through the worker")
    return delivered


def token_in(delivered: Delivered) -> str:
    [token] = set(ACCOUNT_TOKEN.findall(delivered.part("text/plain")))
    return token


def test_verification_reset_and_notice_go_through_the_worker_and_leave_no_token_behind(
    mariadb_url: str, broker_url: str, db: sessionmaker[Session], sink: SmtpSink, start_worker: StartWorker
) -> None:
    worker = start_worker("w1", worker_env(database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port))
    worker.wait_ready()
    email = unique_email("celery-recovery")

    with celery_client(mariadb_url, broker_url=broker_url, sink=sink) as client:
        assert client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD}).status_code == 201
        verify = token_in(arrived(sink, email, "회원가입을 환영합니다."))
        confirmed = client.post("/users/email-verification/confirm", json={"token": verify})
        assert confirmed.json()["email_verified"] is True

        assert client.post("/users/password-reset", json={"email": email}).status_code == 202
        reset = token_in(arrived(sink, email, "비밀번호 재설정 안내"))
        done = client.post("/users/password-reset/confirm", json={"token": reset, "password": NEW_PASSWORD})
        assert done.status_code == 204
        arrived(sink, email, "비밀번호가 변경되었습니다")
        assert client.post("/users/login", data={"username": email, "password": NEW_PASSWORD}).status_code == 200

    wait_until(lambda: all(row.is_sent for row in outbox_rows(db, email)), timeout=10, what="rows marked sent")
    rows = outbox_rows(db, email)
    assert len(rows) == 3
    assert not any(verify in str(row.payload) or reset in str(row.payload) for row in rows)
    assert {e["outbox_id"] for e in worker.logged("email sent")} >= {row.id for row in rows}
