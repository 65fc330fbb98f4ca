"""RabbitMQ outages, against a real ``python main.py`` on MariaDB and a real Celery worker.

RabbitMQ is taken away for the web process and the worker alike through a TCP
proxy (``tests/support/net_proxy.py``): ``down`` refuses and cuts connections (the
server stopped), ``hang`` accepts and never answers. Signups keep answering 201
at once, the emails wait in the outbox, and every one arrives, once, after the
broker is back, with nothing run by hand.

Its own module: a server without a broker (``tests/system/test_outages.py``'s)
relays every pending email of the database it runs on, and must not be alive
while these emails wait for the broker.
"""

import logging
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from database.engine import build_engine, build_session_factory
from mail.domain.outbox_email import OutboxEmail
from tests.support.app import PASSWORD, TEST_JWT_SECRET, unique_email
from tests.support.email import celery_workers, outbox_rows, rabbitmq_vhost, smtp_sink, wait_until, worker_env
from tests.support.live_server import live_server, main_py
from tests.support.net_proxy import target_of, tcp_proxy
from tests.system.test_outages import (
    ANSWER_WITHIN_SECONDS,
    CLIENT_TIMEOUT_SECONDS,
    all_at_once,
    assert_no_server_error_logged,
    make_account,
    needs_database,
    timed,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.mariadb]

logger = logging.getLogger(__name__)

SENDER = "welcome@til.test"
# A signup never waits for the broker (SPEC §6): its publish runs after the response.
SIGNUP_SECONDS = 1.0
# Hanging, the broker holds every publish until its 2 s timeout: more signups than the server has request
# threads show whether the publishes starve the other requests.
SIGNUPS = {"down": 6, "hang": 45}
# Each publish waits for the broker's 2 s timeout on the email threads (``email_handoff`` in containers.py),
# never on the request threads: 45 signups on 8 request threads all answer at once.


@pytest.mark.parametrize(
    "outage",
    [
        "down",
        "hang",
    ],
)
def test_signups_answer_201_while_rabbitmq_is_away_and_every_email_arrives_once_it_is_back(
    mariadb_url: str, tmp_path: Path, outage: str
) -> None:
    emails = [unique_email(f"broker-{outage}") for _ in range(SIGNUPS[outage])]
    engine = build_engine(mariadb_url)
    sessions = build_session_factory(engine)

    def rows() -> list[OutboxEmail]:
        return [row for email in emails for row in outbox_rows(sessions, email)]

    with (
        rabbitmq_vhost(prefix="til_test_load_outage") as broker_url,
        smtp_sink() as sink,
        tcp_proxy(*target_of(broker_url, default_port=5672)) as broker,
        celery_workers(tmp_path) as start_worker,
    ):
        proxied = broker.url(broker_url)
        worker = worker_env(database_url=mariadb_url, broker_url=proxied, smtp_port=sink.port, EMAIL_SENDER=SENDER)
        start_worker("w1", worker).wait_ready()
        web_env = {
            "DATABASE_URL": mariadb_url,
            "CELERY_BROKER_URL": proxied,
            "JWT_SECRET": TEST_JWT_SECRET,
            "EMAIL_SENDER": SENDER,
            "LOG_LEVEL": "INFO",
        }
        try:
            with (
                live_server(name="outage-broker", command=main_py(), workdir=tmp_path / "web", env=web_env) as web,
                httpx.Client(base_url=web.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as http,
            ):
                account = make_account(http)  # its welcome email went through the broker: it works
                assert http.get("/health").json() == {"status": "ok", "database": "ok", "broker": "ok"}

                broker.down() if outage == "down" else broker.hang()
                health = timed(http, "GET /health", {"method": "GET", "url": "/health"})
                signups = [
                    timed(http, "POST /users", {"method": "POST", "url": "/users", "json": _signup_of(email)})
                    for email in emails
                ]
                others = all_at_once(http, needs_database(account)[3:])  # the rest of the API meanwhile
                time.sleep(1.5)
                early = [d.recipient for d in sink.delivered() if d.recipient in emails]
                waiting = rows()
                broker.up()
                back = time.perf_counter()
                try:
                    sink.wait_for(set(emails), timeout=60)
                except AssertionError as error:
                    states = Counter((row.is_sent, row.claimed_by is not None, row.attempts) for row in rows())
                    raise AssertionError(f"{error}; outbox (sent, claimed, attempts): {dict(states)}") from None
                delivered_after = time.perf_counter() - back
                wait_until(lambda: all(row.is_sent for row in rows()), timeout=15, what="every outbox row sent")
                time.sleep(1.0)  # a second copy would arrive now
                health_after = http.get("/health")
                assert_no_server_error_logged(web)
        finally:
            engine.dispose()

    assert (health.status, health.body) == (503, {"status": "unavailable", "database": "ok", "broker": "unavailable"})
    assert health.seconds < ANSWER_WITHIN_SECONDS
    assert [s.status for s in signups] == [201] * len(emails), [(s.status, s.body) for s in signups]
    assert all(isinstance(o.status, int) and o.status < 500 for o in others), [(o.name, o.status) for o in others]
    assert early == []  # nothing carries them while the broker is away
    assert len(waiting) == len(emails)
    assert not any(row.is_sent for row in waiting)
    assert sorted(d.recipient for d in sink.delivered() if d.recipient in emails) == sorted(emails)  # once each
    assert health_after.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    slowest_signup = max(s.seconds for s in signups)
    slowest_other = max(o.seconds for o in others)
    logger.info(
        "broker %s: slowest of %d signups %.3fs, slowest other request %.3fs, /health %.3fs; "
        "every email delivered %.1fs after the broker came back",
        outage,
        len(signups),
        slowest_signup,
        slowest_other,
        health.seconds,
        delivered_after,
    )
    slow = [round(s.seconds, 2) for s in signups if s.seconds >= SIGNUP_SECONDS]
    assert not slow, f"signups waited for the broker: {len(slow)} took {slow} s"
    assert slowest_other < ANSWER_WITHIN_SECONDS


def _signup_of(email: str) -> dict[str, str]:
    return {"name": "Broker Outage", "email": email, "password": PASSWORD}
