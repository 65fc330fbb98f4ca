"""The weekly digest end to end on SQLite and MariaDB, without a broker: two schedulers
(digest passes of two containers, as two web processes run them) and two relays race
on one database with a controllable clock, and the SMTP sink (aiosmtpd) receives
exactly one digest per opted-in account whose Monday 08:00 has come."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from containers import Container
from mail.domain.outbox_email import EmailKind, EmailStatus
from tests.fakes import FakeClock
from tests.support.app import make_settings, new_user, unique_email
from tests.support.email import SmtpSink, outbox_rows, smtp_sink, wait_until
from tests.support.notes import create_note

SUBJECT = "이번 주에 배운 것"
# Monday 7 December 2026, 09:00 UTC: 18:00 in Seoul, 01:00 in Los Angeles.
MONDAY_0900_UTC = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
def processes(database_url: str, app: FastAPI, sink: SmtpSink) -> Iterator[tuple[list[Container], FakeClock]]:
    """Two containers on the database, as two processes have them, sharing one controllable clock.

    A container wires the routes when it is built: the session's app takes them back at once,
    so what the test does over HTTP runs on the real clock."""
    clock = FakeClock(MONDAY_0900_UTC)
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=sink.port, email_sender="digest@til.test")
    containers = [Container(settings=settings) for _ in range(2)]
    app.state.container.wire()
    for container in containers:
        container.clock.override(providers.Object(clock))
    yield containers, clock
    for container in containers:
        container.email_handoff().close()
        container.engine().dispose()


def _account(client: TestClient, *, timezone: str, digest: str, memo_dates: tuple[str, ...]) -> str:
    email = unique_email("digest")
    _, headers = new_user(client, email=email, name="Digest 독자")
    assert client.put("/users", json={"timezone": timezone, "digest": digest}, headers=headers).status_code == 200
    for memo_date in memo_dates:
        create_note(client, headers, memo_date=memo_date, title=f"note of {memo_date}")
    return email


def _race(actions: list[Callable[[], object]]) -> None:
    """Run every action at once, each on its own thread, released together."""
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def _digests(sink: SmtpSink, email: str) -> list:
    return [d for d in sink.to(email) if d.message["Subject"] == SUBJECT]


def _received_and_marked_sent(sink: SmtpSink, session_factory: sessionmaker[Session], email: str, *, what: str) -> list:
    """Wait until the SMTP server has the digest *and* its outbox row says SENT.

    The row is marked just after the server's 250. The test's clock then jumps hours ahead, past the
    lease of a send still in flight, so it waits for the mark: a real clock never jumps like that."""
    received = wait_until(lambda: _digests(sink, email), timeout=15, what=what)

    def marked_sent() -> bool:
        digests = [row for row in outbox_rows(session_factory, email) if row.kind is EmailKind.DIGEST]
        return bool(digests) and all(row.status is EmailStatus.SENT for row in digests)

    wait_until(marked_sent, timeout=15, what=f"{what} marked SENT")
    return received


def test_racing_schedulers_and_relays_send_one_digest_per_due_account(
    client: TestClient,
    sink: SmtpSink,
    processes: tuple[list[Container], FakeClock],
    session_factory: sessionmaker[Session],
) -> None:
    containers, clock = processes
    seoul = _account(client, timezone="Asia/Seoul", digest="weekly", memo_dates=("20261201", "20261206"))
    los_angeles = _account(client, timezone="America/Los_Angeles", digest="weekly", memo_dates=("20261203",))
    off = _account(client, timezone="UTC", digest="off", memo_dates=("20261202",))

    def round_of_passes() -> None:
        _race(
            [container.digest_service().run_pass for container in containers for _ in range(2)]
            + [container.outbox_service().relay_pass for container in containers]
        )

    round_of_passes()
    round_of_passes()
    [seoul_digest] = _received_and_marked_sent(sink, session_factory, seoul, what="the Seoul digest")
    # 01:00 on Monday in Los Angeles: not yet.
    assert _digests(sink, los_angeles) == []

    clock._now = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles
    round_of_passes()
    round_of_passes()
    wait_until(lambda: _digests(sink, los_angeles), timeout=15, what="the Los Angeles digest")
    for container in containers:
        container.outbox_service().relay_pass()
    time.sleep(0.5)

    assert len(_digests(sink, seoul)) == 1
    assert len(_digests(sink, los_angeles)) == 1
    assert _digests(sink, off) == []
    text = seoul_digest.part("text/plain")
    assert "note of 20261201" in text
    assert "note of 20261206" in text
    assert "2026-W50" in text
    assert "note of 20261201" in seoul_digest.part("text/html")


def test_nothing_to_show_sends_nothing_and_a_missed_week_goes_out_once_when_back(
    client: TestClient,
    sink: SmtpSink,
    processes: tuple[list[Container], FakeClock],
    session_factory: sessionmaker[Session],
) -> None:
    containers, clock = processes
    empty = _account(client, timezone="UTC", digest="weekly", memo_dates=())
    # One note, for a day of the week before the missed Monday.
    late = _account(client, timezone="UTC", digest="weekly", memo_dates=("20261208",))

    # The service was down all Monday: the week's digest goes out on Thursday, once.
    clock._now = datetime(2026, 12, 17, 12, 0, tzinfo=UTC)  # Thursday of 2026-W51
    _race([container.digest_service().run_pass for container in containers])
    _received_and_marked_sent(sink, session_factory, late, what="the late digest")
    clock._now = datetime(2026, 12, 18, 12, 0, tzinfo=UTC)
    _race([container.digest_service().run_pass for container in containers])
    for container in containers:
        container.outbox_service().relay_pass()
    time.sleep(0.5)

    assert len(_digests(sink, late)) == 1
    assert "note of 20261208" in _digests(sink, late)[0].part("text/plain")
    # No notes at all: nothing to show, so nothing is sent.
    assert _digests(sink, empty) == []
