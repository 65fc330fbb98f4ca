"""The outbox with fakes: the ``Outbox`` port's dedupe key, permanent refusals, retention, a payload-driven renderer."""

from datetime import timedelta
from pathlib import Path

import pytest

from mail.application.outbox_service import DeliveryOutcome, OutboxService
from mail.application.ports import QueuedEmail
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, EmailStatus
from mail.infra.template_renderer import TemplateEmailRenderer
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.mail import FakeEmailRenderer, FakeEmailSender, FakeMailUnitOfWork
from tests.fakes.user import FakeUserUnitOfWork

POLICY = DeliveryPolicy(lease=timedelta(minutes=2), retry_base=timedelta(seconds=30), retry_max=timedelta(minutes=10))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def caller() -> FakeUserUnitOfWork:
    """Another app's unit of work, with the mail app's Outbox on it."""
    return FakeUserUnitOfWork(ids=SequentialIds(), policy=POLICY)


def service(caller: FakeUserUnitOfWork, clock: FakeClock, sender: FakeEmailSender) -> OutboxService:
    return OutboxService(
        uow=FakeMailUnitOfWork(caller.outbox_state),
        sender=sender,
        renderer=FakeEmailRenderer(),
        publisher=None,
        clock=clock,
        ids=SequentialIds(),
        policy=POLICY,
        retention=timedelta(days=30),
    )


def queue(
    caller: FakeUserUnitOfWork, clock: FakeClock, *, dedupe_key: str | None = None, commit: bool = True
) -> QueuedEmail | None:
    with caller as uow:
        queued = uow.outbox.queue(
            kind=EmailKind.WELCOME,
            recipient="dexter@example.com",
            payload={"name": "Dexter"},
            now=clock.now(),
            dedupe_key=dedupe_key,
        )
        if commit:
            uow.commit()
    return queued


def test_an_email_is_queued_only_when_the_callers_unit_of_work_commits(
    caller: FakeUserUnitOfWork, clock: FakeClock
) -> None:
    assert queue(caller, clock, commit=False) is not None
    assert caller.outbox_state == {}

    queued = queue(caller, clock)

    assert queued is not None
    email = caller.outbox_state[queued.outbox_id]
    assert (email.status, email.claimed_by, email.next_attempt_at) == (
        EmailStatus.PENDING,
        queued.claim,
        clock.now() + POLICY.lease,
    )


def test_the_same_dedupe_key_queues_once(caller: FakeUserUnitOfWork, clock: FakeClock) -> None:
    first = queue(caller, clock, dedupe_key="digest:u1:2026-W49")
    second = queue(caller, clock, dedupe_key="digest:u1:2026-W49")
    next_week = queue(caller, clock, dedupe_key="digest:u1:2026-W50")

    assert first is not None
    assert next_week is not None
    assert second is None
    assert len(caller.outbox_state) == 2


def test_a_permanent_refusal_marks_the_email_failed_and_the_relay_leaves_it(
    caller: FakeUserUnitOfWork, clock: FakeClock
) -> None:
    sender = FakeEmailSender()
    sender.refusing = "recipient refused: 550 5.1.1 no such user"
    queued = queue(caller, clock)
    assert queued is not None
    emails = service(caller, clock, sender)

    assert emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim) is DeliveryOutcome.REFUSED

    email = caller.outbox_state[queued.outbox_id]
    assert (email.status, email.last_error, email.attempts) == (
        EmailStatus.FAILED,
        "recipient refused: 550 5.1.1 no such user",
        1,
    )
    sender.refusing = None
    clock.advance(days=1)
    assert emails.relay() == 0
    assert emails.pending_count() == 0
    assert sender.sent == []


def test_a_temporary_failure_keeps_the_backoff(caller: FakeUserUnitOfWork, clock: FakeClock) -> None:
    sender = FakeEmailSender()
    sender.down = "451 4.3.0 try again later"
    queued = queue(caller, clock)
    assert queued is not None

    assert service(caller, clock, sender).deliver(outbox_id=queued.outbox_id, claim=queued.claim) is (
        DeliveryOutcome.FAILED
    )

    email = caller.outbox_state[queued.outbox_id]
    assert (email.status, email.next_attempt_at) == (EmailStatus.PENDING, clock.now() + POLICY.retry_base)


def test_the_relay_pass_prunes_sent_emails_past_the_retention_in_batches(
    caller: FakeUserUnitOfWork, clock: FakeClock
) -> None:
    sender = FakeEmailSender()
    emails = service(caller, clock, sender)
    old = [queue(caller, clock) for _ in range(5)]
    for queued in old:
        assert queued is not None
        emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim)
    clock.advance(days=30, seconds=1)
    recent = queue(caller, clock)
    assert recent is not None
    emails.deliver(outbox_id=recent.outbox_id, claim=recent.claim)
    failed_sender = FakeEmailSender()
    failed_sender.refusing = "550 no"
    refused = queue(caller, clock)
    assert refused is not None
    service(caller, clock, failed_sender).deliver(outbox_id=refused.outbox_id, claim=refused.claim)

    assert emails.prune(batch_size=2) == 5
    assert set(caller.outbox_state) == {recent.outbox_id, refused.outbox_id}  # FAILED rows are kept
    assert emails.relay_pass() == 0
    assert emails.prune() == 0


def test_the_renderer_fills_whatever_the_payload_holds(tmp_path: Path) -> None:
    """A new kind's templates may use any placeholders: the payload fills them, no renderer code changes."""
    for kind in EmailKind:  # the renderer reads every kind's pair when it is built
        (tmp_path / f"{kind.value}.txt").write_text("Reset: ${link} (code ${token})\n", encoding="utf-8")
        (tmp_path / f"{kind.value}.html").write_text('<a href="${link}">${name}</a>', encoding="utf-8")
    renderer = TemplateEmailRenderer(subjects={EmailKind.WELCOME: "Reset"}, directory=tmp_path)

    rendered = renderer.render(
        kind=EmailKind.WELCOME,
        payload={"link": "https://til.test/reset?t=abc&x=1", "token": "abc", "name": "<Rita>"},
    )

    assert rendered.subject == "Reset"
    assert rendered.text == "Reset: https://til.test/reset?t=abc&x=1 (code abc)\n"
    assert rendered.html == '<a href="https://til.test/reset?t=abc&amp;x=1">&lt;Rita&gt;</a>'


def queue_secret(caller: FakeUserUnitOfWork, clock: FakeClock) -> QueuedEmail:
    with caller as uow:
        queued = uow.outbox.queue(
            kind=EmailKind.PASSWORD_RESET,
            recipient="dexter@example.com",
            payload={"name": "Dexter", "secret_token": "raw-token", "secret_link": "https://til.test/?token=raw-token"},
            now=clock.now(),
        )
        uow.commit()
    assert queued is not None
    return queued


def test_secret_payload_values_stay_until_the_email_is_sent_and_are_blanked_then(
    caller: FakeUserUnitOfWork, clock: FakeClock
) -> None:
    sender = FakeEmailSender()
    sender.down = "421 try later"
    queued = queue_secret(caller, clock)
    outbox = service(caller, clock, sender)

    assert outbox.deliver(outbox_id=queued.outbox_id, claim=queued.claim) is DeliveryOutcome.FAILED
    assert caller.outbox_state[queued.outbox_id].payload["secret_token"] == "raw-token"  # needed for the retry

    sender.down = None
    clock.advance(minutes=5)
    assert outbox.relay() == 1

    email = caller.outbox_state[queued.outbox_id]
    assert email.status is EmailStatus.SENT
    assert email.payload == {"name": "Dexter", "secret_token": "", "secret_link": ""}
    assert "raw-token" not in repr(email)


def test_secret_payload_values_are_blanked_when_the_email_is_refused_for_good(
    caller: FakeUserUnitOfWork, clock: FakeClock
) -> None:
    sender = FakeEmailSender()
    sender.refusing = "550 no such user"
    queued = queue_secret(caller, clock)

    assert service(caller, clock, sender).deliver(outbox_id=queued.outbox_id, claim=queued.claim) is (
        DeliveryOutcome.REFUSED
    )

    assert caller.outbox_state[queued.outbox_id].payload["secret_token"] == ""
