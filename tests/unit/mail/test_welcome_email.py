"""The welcome email's use cases with fakes: the outbox row, hand-off, forwarding, delivery, retries, the relay."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from mail.application.outbox_service import DeliveryOutcome, OutboxService
from mail.application.ports import QueuedEmail
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, EmailStatus, OutboxEmail
from tests.fakes import FakeClock, SequentialIds
from tests.fakes.mail import (
    FakeEmailHandoff,
    FakeEmailPublisher,
    FakeEmailRenderer,
    FakeEmailSender,
    FakeMailUnitOfWork,
)
from tests.fakes.user import FakePasswordHasher, FakeTokenIssuer, FakeUserUnitOfWork, fake_account_emails
from user.application.commands import SignUpRequest
from user.application.user_service import UserService
from user.domain.errors import EmailAlreadyRegistered
from user.domain.login_throttle import LoginThrottlePolicy

PASSWORD = "correct horse battery"
POLICY = DeliveryPolicy(lease=timedelta(minutes=2), retry_base=timedelta(seconds=30), retry_max=timedelta(minutes=10))


@dataclass
class World:
    users: UserService
    handoff: FakeEmailHandoff
    uow: FakeUserUnitOfWork
    clock: FakeClock
    sender: FakeEmailSender
    broker: FakeEmailPublisher
    ids: SequentialIds

    def emails(self, *, broker: bool = False) -> OutboxService:
        return OutboxService(
            uow=FakeMailUnitOfWork(self.uow.outbox_state),
            sender=self.sender,
            renderer=FakeEmailRenderer(),
            publisher=self.broker if broker else None,
            clock=self.clock,
            ids=self.ids,
            policy=POLICY,
        )

    def sign_up(self, email: str = "dexter@example.com") -> QueuedEmail:
        return self.users.sign_up(request=SignUpRequest(name="Dexter", email=email, password=PASSWORD)).welcome_email

    def row(self, outbox_id: str) -> OutboxEmail:
        return self.uow.outbox_state[outbox_id]


@pytest.fixture
def world() -> World:
    clock, ids = FakeClock(), SequentialIds()
    uow = FakeUserUnitOfWork(ids=ids, policy=POLICY)
    handoff = FakeEmailHandoff()
    users = UserService(
        uow=uow,
        hasher=FakePasswordHasher(),
        tokens=FakeTokenIssuer(clock),
        clock=clock,
        ids=ids,
        throttle_policy=LoginThrottlePolicy(max_failures=5, lockout=timedelta(minutes=15)),
        emails=handoff,
        account_emails=fake_account_emails(ids),
    )
    return World(
        users=users,
        handoff=handoff,
        uow=uow,
        clock=clock,
        sender=FakeEmailSender(),
        broker=FakeEmailPublisher(),
        ids=ids,
    )


def test_sign_up_commits_the_account_and_its_welcome_email_together(world: World) -> None:
    queued = world.sign_up()

    assert world.uow.commits == 1
    [user] = world.uow.users_state.values()
    row = world.row(queued.outbox_id)
    assert (row.recipient, row.kind, row.payload["name"]) == (user.email, EmailKind.WELCOME, "Dexter")
    [token] = world.uow.tokens_state.values()  # the verification token goes in the same transaction
    assert token.user_id == user.id
    assert not token.counted
    assert row.payload["secret_link"] == f"http://til.test/verify-email?token={row.payload['secret_token']}"
    assert (row.status, row.attempts, row.claimed_by) == (EmailStatus.PENDING, 0, queued.claim)


def test_a_refused_signup_leaves_no_email(world: World) -> None:
    world.sign_up()

    with pytest.raises(EmailAlreadyRegistered):
        world.sign_up("DEXTER@example.com")

    assert len(world.uow.outbox_state) == 1


def test_register_without_a_welcome_email(world: World) -> None:
    world.users.register(name="Admin", email="admin@example.com", password=PASSWORD)

    assert world.uow.outbox_state == {}


def test_without_a_broker_forwarding_sends_it_here_once(world: World) -> None:
    queued = world.sign_up()

    world.emails().forward(queued)

    [sent] = world.sender.sent
    assert (sent.id, sent.recipient, sent.text) == (queued.outbox_id, "dexter@example.com", "text for Dexter")
    row = world.row(queued.outbox_id)
    assert (row.status, row.attempts, row.sent_at) == (EmailStatus.SENT, 1, world.clock.now())


def test_with_a_broker_forwarding_publishes_it_under_its_claim(world: World) -> None:
    queued = world.sign_up()

    world.emails(broker=True).forward(queued)

    assert world.broker.published == [queued]
    assert world.sender.sent == []


def test_a_broker_that_is_down_leaves_the_email_due_for_the_relay(world: World) -> None:
    queued = world.sign_up()
    world.broker.down = True

    world.emails(broker=True).forward(queued)  # no exception: the signup never fails for it

    row = world.row(queued.outbox_id)
    assert (row.status, row.claimed_by, row.next_attempt_at) == (EmailStatus.PENDING, None, world.clock.now())
    world.broker.down = False
    assert world.emails(broker=True).relay() == 1
    [republished] = world.broker.published
    assert republished.outbox_id == queued.outbox_id
    assert republished.claim != queued.claim


def test_a_sent_email_is_never_sent_again_even_by_its_own_task(world: World) -> None:
    queued = world.sign_up()
    emails = world.emails()
    emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim)

    outcome = emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim)

    assert outcome is DeliveryOutcome.ALREADY_SENT
    assert len(world.sender.sent) == 1


def test_the_same_task_redelivered_mid_attempt_takes_over_but_another_task_does_not(world: World) -> None:
    queued = world.sign_up()
    emails = world.emails()
    # An attempt started (claimed) and its worker died before recording anything.
    row = world.row(queued.outbox_id)
    row.start_attempt(claim=queued.claim, now=world.clock.now(), lease=POLICY.lease)

    assert emails.deliver(outbox_id=queued.outbox_id, claim="another task") is DeliveryOutcome.CLAIMED_ELSEWHERE
    assert world.sender.sent == []
    assert emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim) is DeliveryOutcome.SENT
    assert (world.row(queued.outbox_id).attempts, len(world.sender.sent)) == (2, 1)


def test_an_smtp_failure_is_recorded_and_retried_with_backoff(world: World) -> None:
    queued = world.sign_up()
    emails = world.emails()
    world.sender.down = "ConnectionRefusedError: [Errno 111] Connection refused"

    assert emails.deliver(outbox_id=queued.outbox_id, claim=queued.claim) is DeliveryOutcome.FAILED

    row = world.row(queued.outbox_id)
    assert (row.status, row.attempts, row.claimed_by) == (EmailStatus.PENDING, 1, None)
    assert row.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert row.next_attempt_at == world.clock.now() + timedelta(seconds=30)
    assert emails.relay() == 0  # not due yet
    world.clock.advance(seconds=30)
    assert emails.relay() == 1  # due: tried again, fails again, waits twice as long
    row = world.row(queued.outbox_id)
    assert (row.attempts, row.next_attempt_at) == (2, world.clock.now() + timedelta(seconds=60))

    world.sender.down = None
    world.clock.advance(seconds=60)
    assert emails.relay() == 1
    assert world.row(queued.outbox_id).status is EmailStatus.SENT
    assert len(world.sender.sent) == 1


def test_the_backoff_doubles_up_to_its_cap() -> None:
    delays = [POLICY.retry_delay(attempts) for attempts in range(1, 9)]

    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 480, 600, 600, 600]
    assert POLICY.retry_delay(10_000) == POLICY.retry_max


def test_a_claim_whose_sender_vanished_is_taken_over_after_the_lease(world: World) -> None:
    queued = world.sign_up()  # claimed for a hand-off that never happens (the process died)
    emails = world.emails()

    assert emails.relay() == 0
    world.clock.advance(seconds=POLICY.lease.total_seconds())
    assert emails.relay() == 1

    assert world.row(queued.outbox_id).status is EmailStatus.SENT
    assert len(world.sender.sent) == 1


def test_the_relay_takes_due_emails_only_oldest_first_in_batches(world: World) -> None:
    queued = [world.sign_up(f"user{n}@example.com") for n in range(5)]
    world.clock.advance(seconds=POLICY.lease.total_seconds())
    emails = world.emails(broker=True)

    assert emails.relay(limit=3) == 3
    assert emails.relay(limit=3) == 2
    assert emails.relay(limit=3) == 0  # all reserved for their hand-off
    assert [p.outbox_id for p in world.broker.published] == [q.outbox_id for q in queued]


def test_counting_pending_emails(world: World) -> None:
    first, _ = world.sign_up("a@example.com"), world.sign_up("b@example.com")
    emails = world.emails()
    emails.forward(first)

    assert emails.pending_count() == 1
