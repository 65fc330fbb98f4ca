"""The outbox repository's contract (fake, SQLite, MariaDB) and its claiming under concurrency.

The databases are this module's own (a migrated SQLite file, a sibling
MariaDB database): the session's live servers run relays on the shared test
database, and one of them would send, with its own sender, rows these tests
count. Rows a test adds are deleted at its end, so each test starts empty.
"""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from common.clock import SystemClock
from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from mail.application.outbox_service import DeliveryOutcome, OutboxService
from mail.application.ports import MailUnitOfWork
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, EmailStatus, OutboxEmail
from mail.infra.db_models import OutboxEmailRow
from mail.infra.unit_of_work import SqlAlchemyMailUnitOfWork
from tests.fakes.mail import FakeEmailRenderer, FakeEmailSender, FakeMailUnitOfWork
from tests.support.app import migrate, sibling_mariadb

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
LONG_AGO = datetime(1901, 1, 1, tzinfo=UTC)
# Rows committed by the contract tests are due then: never in another test's relay.
FAR_AHEAD = datetime(2999, 1, 1, tzinfo=UTC)
POLICY = DeliveryPolicy(lease=timedelta(minutes=2), retry_base=timedelta(seconds=30), retry_max=timedelta(hours=1))

NewUnitOfWork = Callable[[], MailUnitOfWork]


@pytest.fixture(scope="module")
def own_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'outbox.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="module")
def own_mariadb_url(mariadb_url: str) -> Iterator[str]:
    with sibling_mariadb(mariadb_url, "_outbox") as url:
        migrate(url)
        yield url


def factory_for(request: pytest.FixtureRequest, *, engines: dict[str, Engine], backend: str) -> sessionmaker[Session]:
    url = request.getfixturevalue(f"own_{backend}_url")
    if url not in engines:
        engines[url] = build_engine(url)
    return build_session_factory(engines[url])


@pytest.fixture(params=BACKENDS)
def new_uow(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> NewUnitOfWork:
    if request.param == "fake":
        fake = FakeMailUnitOfWork()
        return lambda: fake
    session_factory = factory_for(request, engines=engines, backend=request.param)
    return lambda: SqlAlchemyMailUnitOfWork(session_factory=session_factory)


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Iterator[sessionmaker[Session]]:
    """A real database; the rows a test made are deleted afterwards (see ``made``)."""
    session_factory = factory_for(request, engines=engines, backend=request.param)
    made.clear()
    yield session_factory
    with session_factory() as session:
        session.execute(delete(OutboxEmailRow).where(OutboxEmailRow.id.in_(made)))
        session.commit()


made: list[str] = []


def delivering_here(
    database: sessionmaker[Session], sender: FakeEmailSender, *, retention: timedelta = timedelta(days=30)
) -> OutboxService:
    """An outbox service on ``database`` that delivers in this process (no broker) to ``sender``."""
    return OutboxService(
        uow=SqlAlchemyMailUnitOfWork(database),
        sender=sender,
        renderer=FakeEmailRenderer(),
        publisher=None,
        clock=SystemClock(),
        ids=UlidIdGenerator(),
        policy=POLICY,
        retention=retention,
    )


def pending(*, due: datetime = LONG_AGO, name: str = "Dexter") -> OutboxEmail:
    email_id = UlidIdGenerator().new_id()
    made.append(email_id)
    return OutboxEmail(
        id=email_id,
        recipient=f"outbox-{uuid.uuid4().hex[:10]}@example.com",
        kind=EmailKind.WELCOME,
        payload={"name": name},
        next_attempt_at=due,
        created_at=LONG_AGO,
    )


# -- contract -----------------------------------------------------------------


def test_an_email_round_trips(new_uow: NewUnitOfWork) -> None:
    email = pending(name="한글 😀 <Rita>")
    with new_uow() as uow:
        uow.outbox.add(email)

        assert uow.outbox.get(email.id) == email
        assert uow.outbox.get_for_update(email.id) == email
        assert uow.outbox.get("no-such-id") is None


def test_saved_changes_are_read_back(new_uow: NewUnitOfWork) -> None:
    email = pending()
    now = datetime.now(UTC)
    with new_uow() as uow:
        uow.outbox.add(email)
        email.start_attempt(claim="task-1", now=now, lease=POLICY.lease)
        email.record_failure(error="refused", now=now, policy=POLICY)
        uow.outbox.save(email)

        again = uow.outbox.get(email.id)
        assert again is not None
        assert (again.attempts, again.last_error, again.claimed_by) == (1, "refused", None)
        assert again.next_attempt_at == now + POLICY.retry_base


def test_due_emails_come_oldest_first_and_only_pending_ones(new_uow: NewUnitOfWork) -> None:
    now = datetime.now(UTC)
    second, first, sent, later = (
        pending(due=LONG_AGO + timedelta(seconds=1)),
        pending(),
        pending(),
        pending(due=now + timedelta(hours=1)),
    )
    sent.mark_sent(now)
    with new_uow() as uow:
        for email in (second, first, sent, later):
            uow.outbox.add(email)

        due = uow.outbox.due_for_update(now=now, limit=2)

        assert [e.id for e in due] == [first.id, second.id]


def test_counting_pending_emails(new_uow: NewUnitOfWork) -> None:
    with new_uow() as uow:
        before = uow.outbox.count_pending()
        sent = pending()
        sent.mark_sent(datetime.now(UTC))
        for email in (pending(), pending(), sent):
            uow.outbox.add(email)

        assert uow.outbox.count_pending() == before + 2


def test_a_second_email_with_the_same_dedupe_key_is_not_added(new_uow: NewUnitOfWork) -> None:
    key = f"digest:{uuid.uuid4().hex}:2026-W49"
    first, second, unkeyed, also_unkeyed = (pending(due=FAR_AHEAD) for _ in range(4))
    first.dedupe_key = second.dedupe_key = key
    with new_uow() as uow:
        assert uow.outbox.add(first) is True
        assert uow.outbox.add(second) is False
        assert uow.outbox.add(unkeyed) is True
        assert uow.outbox.add(also_unkeyed) is True  # no key: never a duplicate
        uow.commit()

    with new_uow() as uow:
        assert uow.outbox.get(first.id) == first
        assert uow.outbox.get(second.id) is None
        assert uow.outbox.get(unkeyed.id) is not None


def test_a_failed_email_keeps_its_reason_and_is_neither_due_nor_pending(new_uow: NewUnitOfWork) -> None:
    email = pending()
    now = datetime.now(UTC)
    with new_uow() as uow:
        before = uow.outbox.count_pending()
        uow.outbox.add(email)
        email.start_attempt(claim="task-1", now=now, lease=POLICY.lease)
        email.mark_failed(reason="recipient refused: 550 5.1.1 no such user")
        uow.outbox.save(email)

        again = uow.outbox.get(email.id)
        assert again is not None
        assert (again.status, again.last_error, again.claimed_by) == (
            EmailStatus.FAILED,
            "recipient refused: 550 5.1.1 no such user",
            None,
        )
        assert email.id not in {e.id for e in uow.outbox.due_for_update(now=now + timedelta(days=1), limit=100)}
        assert uow.outbox.count_pending() == before


def test_only_sent_emails_older_than_the_cutoff_are_deleted_a_batch_at_a_time(new_uow: NewUnitOfWork) -> None:
    cutoff = LONG_AGO + timedelta(days=1)
    old_sent = [pending() for _ in range(3)]
    for email in old_sent:
        email.mark_sent(LONG_AGO)
    recent_sent, still_pending, failed = (pending(due=FAR_AHEAD) for _ in range(3))
    recent_sent.mark_sent(datetime.now(UTC))  # after the cutoff (and inside any retention)
    failed.mark_failed(reason="550 refused")
    with new_uow() as uow:
        for email in (*old_sent, recent_sent, still_pending, failed):
            uow.outbox.add(email)
        uow.commit()

    with new_uow() as uow:
        assert uow.outbox.delete_sent_before(cutoff, limit=2) == 2
        uow.commit()
    with new_uow() as uow:
        assert uow.outbox.delete_sent_before(cutoff, limit=2) == 1
        assert uow.outbox.delete_sent_before(cutoff, limit=2) == 0
        uow.commit()

    with new_uow() as uow:
        assert [uow.outbox.get(email.id) for email in old_sent] == [None, None, None]
        assert all(uow.outbox.get(e.id) is not None for e in (recent_sent, still_pending, failed))


# -- concurrency on real databases --------------------------------------------


def test_two_relays_claim_disjoint_emails_without_waiting_for_each_other(database: sessionmaker[Session]) -> None:
    """MariaDB skips the rows another transaction locked; SQLite queues the second writer."""
    emails = [pending() for _ in range(6)]
    with SqlAlchemyMailUnitOfWork(database) as uow:
        for email in emails:
            uow.outbox.add(email)
        uow.commit()
    now = datetime.now(UTC)
    taken_by_second: list[str] = []

    def second_relay() -> None:
        with SqlAlchemyMailUnitOfWork(database) as uow:
            for email in uow.outbox.due_for_update(now=now, limit=3):
                email.reserve(claim="second", now=now, lease=POLICY.lease)
                uow.outbox.save(email)
                taken_by_second.append(email.id)
            uow.commit()

    with SqlAlchemyMailUnitOfWork(database) as uow:
        taken_by_first = []
        for email in uow.outbox.due_for_update(now=now, limit=3):
            email.reserve(claim="first", now=now, lease=POLICY.lease)
            uow.outbox.save(email)
            taken_by_first.append(email.id)
        other = threading.Thread(target=second_relay)
        other.start()
        time.sleep(0.5)  # the second relay runs (MariaDB) or waits (SQLite) while these rows are held
        if uow.session.get_bind().dialect.name != "sqlite":
            assert not other.is_alive(), "SKIP LOCKED: the second relay must not wait for the first"
        uow.commit()
    other.join(15)

    mine = {email.id for email in emails}
    assert set(taken_by_first) <= mine
    assert set(taken_by_second) <= mine
    assert len(taken_by_first) == len(taken_by_second) == 3
    assert not set(taken_by_first) & set(taken_by_second)


def test_several_relays_at_once_send_each_email_exactly_once(database: sessionmaker[Session]) -> None:
    emails = [pending() for _ in range(30)]
    with SqlAlchemyMailUnitOfWork(database) as uow:
        for email in emails:
            uow.outbox.add(email)
        uow.commit()
    sender = FakeEmailSender()
    relays = [delivering_here(database, sender) for _ in range(4)]
    mine = {email.recipient for email in emails}

    def run(relay: OutboxService) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {e.recipient for e in sender.sent} < mine:
            relay.relay(limit=4)

    with ThreadPoolExecutor(max_workers=len(relays)) as pool:
        list(pool.map(run, relays))

    assert Counter(e.recipient for e in sender.sent if e.recipient in mine) == dict.fromkeys(mine, 1)
    with SqlAlchemyMailUnitOfWork(database) as uow:
        assert all((row := uow.outbox.get(email.id)) is not None and row.status is EmailStatus.SENT for email in emails)


def test_the_relay_prunes_sent_emails_past_the_retention_in_batches(database: sessionmaker[Session]) -> None:
    old = [pending() for _ in range(5)]
    for email in old:
        email.mark_sent(LONG_AGO)
    fresh = pending(due=datetime.now(UTC) + timedelta(hours=1))
    fresh.mark_sent(datetime.now(UTC) - timedelta(days=29))
    with SqlAlchemyMailUnitOfWork(database) as uow:
        for email in (*old, fresh):
            uow.outbox.add(email)
        uow.commit()
    service = delivering_here(database, FakeEmailSender(), retention=timedelta(days=30))

    assert service.prune(batch_size=2) == 5  # three batches: 2, 2, 1

    with SqlAlchemyMailUnitOfWork(database) as uow:
        assert [uow.outbox.get(email.id) for email in old] == [None] * 5
        assert uow.outbox.get(fresh.id) == fresh


def test_a_delivery_handed_its_email_waits_out_a_moment_s_lock_on_it(database: sessionmaker[Session]) -> None:
    """The task a hand-off published finds its email held by a short transaction (MariaDB: a row lock, as
    a digest planner's duplicate-key check takes; SQLite: the write lock): it waits, then sends."""
    email = pending()
    now = datetime.now(UTC)
    email.reserve(claim="handed", now=now, lease=POLICY.lease)
    with SqlAlchemyMailUnitOfWork(database) as uow:
        uow.outbox.add(email)
        uow.commit()
    sender = FakeEmailSender()
    service = delivering_here(database, sender)

    with SqlAlchemyMailUnitOfWork(database) as holder, ThreadPoolExecutor(max_workers=1) as pool:
        assert holder.outbox.get_for_update(email.id, skip_locked=False) is not None
        delivery = pool.submit(service.deliver, outbox_id=email.id, claim="handed")
        time.sleep(0.5)  # the delivery reaches the held row meanwhile
        assert not delivery.done(), delivery.result()
        holder.commit()
        outcome = delivery.result(timeout=15)

    assert outcome is DeliveryOutcome.SENT
    assert [sent.recipient for sent in sender.sent] == [email.recipient]
