"""The weekly digest with a broker: real ``celery beat`` processes publish the planner on a
one-second schedule (``DIGEST_INTERVAL_SECONDS``, beat_schedule in the Celery configuration),
real workers plan and send, on RabbitMQ and MariaDB, and the SMTP sink receives exactly one
digest for the opted-in account however many beats and workers race."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from main import create_app
from note.domain.digest import digest_week
from note.domain.note import format_memo_date
from tests.support.app import make_settings, new_user, unique_email
from tests.support.email import CELERY, SmtpSink, celery_workers, rabbitmq_vhost, smtp_sink, wait_until, worker_env
from tests.support.notes import create_note

pytestmark = [pytest.mark.rabbitmq, pytest.mark.mariadb]

SUBJECT = "이번 주에 배운 것"
ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago")


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    with rabbitmq_vhost("til_test_digest") as url:
        yield url


@contextlib.contextmanager
def celery_beat(*, name: str, env: dict[str, str], directory: Path) -> Iterator[Path]:
    """``celery -A common.messaging.celery beat`` with its own schedule file; stopped at the end."""
    log_path = directory / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [CELERY, "-A", "common.messaging.celery", "beat", "--loglevel=info", "-s", str(directory / f"{name}.db")],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield log_path
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _zone_due_for_a_while(now: datetime) -> str:
    """A zone where this week's digest is due now and still the same week in ten minutes."""
    for zone in ZONES:
        week, later = digest_week(zone, now), now + timedelta(minutes=10)
        if week.is_due(now) and digest_week(zone, later).key == week.key:
            return zone
    raise AssertionError("no zone is past its Monday 08:00 now")


def test_beat_publishes_the_planner_and_workers_send_one_digest(
    mariadb_url: str, broker_url: str, tmp_path: Path
) -> None:
    zone = _zone_due_for_a_while(datetime.now(UTC))
    first_day, _ = digest_week(zone, datetime.now(UTC)).previous_days
    email = unique_email("beat")
    with TestClient(create_app(make_settings(mariadb_url))) as client:
        _, headers = new_user(client, email=email)
        assert client.put("/users", json={"timezone": zone, "digest": "weekly"}, headers=headers).status_code == 200
        create_note(client, headers, memo_date=format_memo_date(first_day), title="learned last week")

    sink: SmtpSink
    with smtp_sink() as sink, celery_workers(tmp_path) as start_worker:
        env = worker_env(
            database_url=mariadb_url, broker_url=broker_url, smtp_port=sink.port, DIGEST_INTERVAL_SECONDS="1"
        )
        workers = [start_worker(name, env) for name in ("w1", "w2")]
        for worker in workers:
            worker.wait_ready()
        with (
            celery_beat(name="beat1", env=env, directory=tmp_path),
            celery_beat(name="beat2", env=env, directory=tmp_path),
        ):
            wait_until(
                lambda: [d for d in sink.to(email) if d.message["Subject"] == SUBJECT],
                timeout=60,
                what="the digest through beat and a worker",
            )
            time.sleep(4)  # several more beats from both schedulers: nothing more may arrive
        digests = [d for d in sink.to(email) if d.message["Subject"] == SUBJECT]

    assert len(digests) == 1
    assert "learned last week" in digests[0].part("text/plain")
    planned = [e for worker in workers for e in worker.events() if "note.plan_digests" in str(e)]
    assert planned, "no worker ran the planner that beat published"
