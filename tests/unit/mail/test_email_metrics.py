"""The hooks the email code calls (``mail/infra/metrics.py``) move the metrics /metrics shows."""

import math
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mail.infra.metrics import OUTBOX_PENDING, email_failed, email_refused, email_sent, track_outbox_pending


def value(name: str) -> float:
    found = REGISTRY.get_sample_value(name)
    assert found is not None, name
    return found


@pytest.fixture
def outbox_gauge() -> Iterator[None]:
    # Put back what an app of the session tracked, if any.
    saved = OUTBOX_PENDING.count
    yield
    OUTBOX_PENDING.count = saved


def test_email_sent_and_failed_count_one_each() -> None:
    sent, failed = value("emails_sent_total"), value("emails_failed_total")

    email_sent()
    email_failed()
    email_failed()

    assert value("emails_sent_total") == sent + 1
    assert value("emails_failed_total") == failed + 2


def test_a_refusal_for_good_is_counted_apart_from_the_retries() -> None:
    failed, refused = value("emails_failed_total"), value("emails_refused_total")

    email_refused()

    assert value("emails_refused_total") == refused + 1
    assert value("emails_failed_total") == failed
    families = {f.name: f for f in text_string_to_metric_families(generate_latest().decode())}
    assert {"emails_failed", "emails_refused"} <= set(families)


def test_outbox_pending_is_counted_at_every_scrape(outbox_gauge: None) -> None:
    pending = [3]
    track_outbox_pending(lambda: pending[0])
    assert value("outbox_pending") == 3

    pending[0] = 1

    assert value("outbox_pending") == 1
    families = {f.name: f for f in text_string_to_metric_families(generate_latest().decode())}
    assert families["outbox_pending"].samples[0].value == 1


def test_a_failing_outbox_count_does_not_break_the_scrape(outbox_gauge: None) -> None:
    def database_down() -> int:
        raise ConnectionError("database down")

    track_outbox_pending(database_down)

    assert math.isnan(value("outbox_pending"))
    assert b"outbox_pending NaN" in generate_latest()
