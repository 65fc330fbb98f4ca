"""The welcome email without a broker: FastAPI BackgroundTasks and the web process's relay,
over real SMTP (an aiosmtpd server in this process), on SQLite and MariaDB."""

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from mail.domain.outbox_email import EmailStatus
from tests.support.app import PASSWORD, app_client, unique_email
from tests.support.email import SmtpSink, outbox_row, smtp_sink, wait_until

SENDER = "welcome@til.test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
def email_client(database_url: str, app: FastAPI, sink: SmtpSink) -> Iterator[TestClient]:
    """An app with no broker that sends to ``sink``; its relay looks every 0.2 s, retries back off from 0.5 s."""
    with app_client(
        database_url,
        restore=app,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        email_sender=SENDER,
        email_relay_interval_seconds=0.2,
        email_retry_base_seconds=0.5,
        email_retry_max_seconds=2,
    ) as client:
        yield client


def test_a_signup_delivers_exactly_one_welcome_email(
    email_client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    email, name = unique_email("welcome"), "Dex & <Rita> 한글"

    response = email_client.post("/users", json={"name": name, "email": email, "password": PASSWORD})

    assert response.status_code == 201, response.text
    [delivered] = sink.wait_for({email}, timeout=10)
    message = delivered.message
    assert message["Subject"] == "회원가입을 환영합니다."
    assert message["From"] == SENDER
    assert message["To"] == email
    assert message.get_content_type() == "multipart/alternative"
    assert name in delivered.part("text/plain")
    html = delivered.part("text/html")
    assert "Dex &amp; &lt;Rita&gt; 한글" in html
    assert "<Rita>" not in html
    row = outbox_row(session_factory, email)
    assert message["Message-ID"] == f"<{row.id}@til.test>"
    assert (row.status, row.attempts, row.last_error) == (EmailStatus.SENT, 1, None)
    # Nothing else comes later: the relay finds the row sent.
    time.sleep(0.6)
    assert len(sink.to(email)) == 1


def test_smtp_down_keeps_the_email_pending_with_the_error_until_smtp_is_back(
    email_client: TestClient, sink: SmtpSink, session_factory: sessionmaker[Session]
) -> None:
    email = unique_email("smtp-down")
    sink.stop()

    started = time.perf_counter()
    response = email_client.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD})
    elapsed = time.perf_counter() - started

    assert response.status_code == 201, response.text
    assert elapsed < 1.0
    # The send runs after the response, on the email threads: wait for its failure to be recorded.
    pending = wait_until(
        lambda: (row := outbox_row(session_factory, email)).last_error is not None and row,
        timeout=10,
        what="the failed attempt recorded",
    )
    assert pending.status is EmailStatus.PENDING
    assert pending.attempts >= 1
    assert "Connection refused" in pending.last_error
    assert pending.sent_at is None
    # The relay keeps retrying with backoff: more attempts, each recorded.
    wait_until(lambda: outbox_row(session_factory, email).attempts >= 2, timeout=10, what="a retry")
    assert sink.delivered() == []

    sink.start()

    sink.wait_for({email}, timeout=15)
    sent = wait_until(
        lambda: (row := outbox_row(session_factory, email)).is_sent and row, timeout=5, what="the row marked sent"
    )
    assert sent.sent_at is not None
    assert sent.attempts >= 2
    time.sleep(0.6)
    assert len(sink.to(email)) == 1
