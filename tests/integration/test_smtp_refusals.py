"""Permanent and temporary SMTP refusals, against a real SMTP server (aiosmtpd) that answers 550 or 451.

A permanent one (5xx to the recipient or the content, no SMTPUTF8 for a
non-ASCII address) marks the email ``FAILED`` with its reason, and it is
never tried again; a temporary one (4xx) keeps the backoff. Through
``OutboxService`` on SQLite and MariaDB.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from common.clock import SystemClock
from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from mail.application.outbox_service import DeliveryOutcome, OutboxService
from mail.application.ports import OutgoingEmail
from mail.domain.errors import EmailDeliveryFailed
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, EmailStatus, OutboxEmail
from mail.infra.db_models import OutboxEmailRow
from mail.infra.metrics import EMAILS_FAILED, EMAILS_REFUSED
from mail.infra.smtp_sender import SmtpEmailSender
from mail.infra.unit_of_work import SqlAlchemyMailUnitOfWork
from tests.fakes.mail import FakeEmailRenderer
from tests.support.ports import free_port

DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
SENDER = "noreply@til.test"
POLICY = DeliveryPolicy(lease=timedelta(minutes=2), retry_base=timedelta(seconds=30), retry_max=timedelta(hours=1))
LONG_AGO = datetime(1901, 1, 1, tzinfo=UTC)


class RefusingServer:
    """An aiosmtpd handler that answers ``rcpt_reply`` to RCPT, or ``data_reply`` to DATA, or accepts."""

    def __init__(self, *, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.accepted: list[tuple[str, ...]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.accepted.append(tuple(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@dataclass
class Server:
    handler: RefusingServer
    port: int


@pytest.fixture
def server() -> Iterator[Server]:
    """Accepts until the test sets a reply; without SMTPUTF8 (aiosmtpd's Controller would offer it)."""
    handler, port = RefusingServer(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    yield Server(handler, port)
    controller.stop()


def smtp(port: int) -> SmtpEmailSender:
    return SmtpEmailSender(host="127.0.0.1", port=port, sender=SENDER, timeout=5)


def outgoing(recipient: str = "dexter@example.com") -> OutgoingEmail:
    return OutgoingEmail(id="01JREFUSAL", recipient=recipient, subject="환영", text="hi", html="<p>hi</p>")


# -- the sender: which refusals are permanent ----------------------------------


@pytest.mark.parametrize(
    ("rcpt_reply", "data_reply", "permanent", "code"),
    [
        ("550 5.1.1 No such user here", None, True, "550"),
        ("451 4.3.0 Mailbox temporarily unavailable", None, False, "451"),
        (None, "554 5.6.0 Message content rejected", True, "554"),
        (None, "452 4.3.1 Insufficient system storage", False, "452"),
    ],
)
def test_5xx_is_permanent_and_4xx_is_temporary(
    server: Server, rcpt_reply: str | None, data_reply: str | None, permanent: bool, code: str
) -> None:
    server.handler.rcpt_reply, server.handler.data_reply = rcpt_reply, data_reply
    failed_before, refused_before = EMAILS_FAILED._value.get(), EMAILS_REFUSED._value.get()

    with pytest.raises(EmailDeliveryFailed) as failure:
        smtp(server.port).send(outgoing())

    assert failure.value.permanent is permanent
    assert code in failure.value.reason
    # /metrics counts the two apart.
    assert EMAILS_REFUSED._value.get() - refused_before == (1 if permanent else 0)
    assert EMAILS_FAILED._value.get() - failed_before == (0 if permanent else 1)


def test_a_non_ascii_address_without_smtputf8_is_refused_for_good(server: Server) -> None:
    """Python's smtplib refuses to send it before any RCPT: the server cannot take such an address."""
    with pytest.raises(EmailDeliveryFailed) as failure:
        smtp(server.port).send(outgoing("민수@example.com"))

    assert failure.value.permanent is True
    assert "SMTPUTF8" in failure.value.reason
    assert server.handler.accepted == []


def test_a_server_that_is_down_is_temporary() -> None:
    with pytest.raises(EmailDeliveryFailed) as failure:
        smtp(free_port()).send(outgoing())

    assert failure.value.permanent is False


# -- the outbox: FAILED, or retried -----------------------------------------------


@dataclass
class Database:
    sessions: sessionmaker[Session]
    made: list[str]

    def add_pending(self) -> OutboxEmail:
        email = OutboxEmail(
            id=UlidIdGenerator().new_id(),
            recipient=f"refusal-{uuid.uuid4().hex[:10]}@example.com",
            kind=EmailKind.WELCOME,
            payload={"name": "Dexter"},
            next_attempt_at=LONG_AGO,
            created_at=LONG_AGO,
        )
        self.made.append(email.id)
        with SqlAlchemyMailUnitOfWork(self.sessions) as uow:
            uow.outbox.add(email)
            uow.commit()
        return email

    def stored(self, email_id: str) -> OutboxEmail:
        with SqlAlchemyMailUnitOfWork(self.sessions) as uow:
            email = uow.outbox.get(email_id)
        assert email is not None
        return email


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A real database; the rows a test added are deleted afterwards."""
    engine = build_engine(request.getfixturevalue(f"{request.param}_url"))
    database = Database(build_session_factory(engine), made=[])
    yield database
    with database.sessions() as session:
        session.execute(delete(OutboxEmailRow).where(OutboxEmailRow.id.in_(database.made)))
        session.commit()
    engine.dispose()


def outbox_service(database: Database, port: int) -> OutboxService:
    return OutboxService(
        uow=SqlAlchemyMailUnitOfWork(database.sessions),
        sender=smtp(port),
        renderer=FakeEmailRenderer(),
        publisher=None,
        clock=SystemClock(),
        ids=UlidIdGenerator(),
        policy=POLICY,
    )


def test_a_550_marks_the_email_failed_with_its_reason_and_it_is_never_retried(
    server: Server, database: Database
) -> None:
    server.handler.rcpt_reply = "550 5.1.1 No such user here"
    email = database.add_pending()
    service = outbox_service(database, server.port)

    assert service.deliver(outbox_id=email.id, claim="first") is DeliveryOutcome.REFUSED

    failed = database.stored(email.id)
    assert (failed.status, failed.attempts, failed.claimed_by) == (EmailStatus.FAILED, 1, None)
    assert failed.last_error == "recipient refused: 550 5.1.1 No such user here"
    server.handler.rcpt_reply = None  # the server would take it now: still nobody tries
    with SqlAlchemyMailUnitOfWork(database.sessions) as uow:
        due = uow.outbox.due_for_update(now=datetime.now(UTC) + timedelta(days=365), limit=1000)
    assert email.id not in {e.id for e in due}
    assert service.deliver(outbox_id=email.id, claim="second") is DeliveryOutcome.CLAIMED_ELSEWHERE
    assert server.handler.accepted == []


def test_a_451_keeps_the_email_pending_with_the_backoff(server: Server, database: Database) -> None:
    server.handler.rcpt_reply = "451 4.3.0 Mailbox temporarily unavailable"
    email = database.add_pending()
    service = outbox_service(database, server.port)
    before = datetime.now(UTC)

    assert service.deliver(outbox_id=email.id, claim="first") is DeliveryOutcome.FAILED

    waiting = database.stored(email.id)
    assert (waiting.status, waiting.attempts, waiting.claimed_by) == (EmailStatus.PENDING, 1, None)
    assert "451" in (waiting.last_error or "")
    assert waiting.next_attempt_at >= before + POLICY.retry_base
    server.handler.rcpt_reply = None  # the server recovered: the retry goes out
    assert service.deliver(outbox_id=email.id, claim="retry") is DeliveryOutcome.CLAIMED_ELSEWHERE  # not due yet
    waiting.next_attempt_at = LONG_AGO
    with SqlAlchemyMailUnitOfWork(database.sessions) as uow:
        uow.outbox.save(waiting)
        uow.commit()
    assert service.deliver(outbox_id=email.id, claim="retry") is DeliveryOutcome.SENT
    assert server.handler.accepted == [(email.recipient,)]
