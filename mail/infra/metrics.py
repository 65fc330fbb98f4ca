"""Prometheus metrics of the email outbox, and the hooks that move them.

The mail app calls these from its *infra* side (the sender adapters): never
from ``mail/application`` or ``mail/domain``, which may not import
``prometheus_client`` (``.importlinter``'s pure-core contract follows
indirect imports too).

- ``email_sent()`` once per email the SMTP server (or the log sender) accepted;
- ``email_failed()`` once per failed attempt that will be retried (a retry that fails counts again);
- ``email_refused()`` once per email the server refused for good (it is ``FAILED``, never retried);
- ``track_outbox_pending(count)`` once at start, with a function that counts
  the outbox rows not sent yet: it runs at every ``GET /metrics`` scrape, so
  each process reports the database's own figure.

Under ``uvicorn --workers N`` the web workers' counters are summed
(``observability/metrics.py``); a Celery worker's counters are its own, not
on the web processes' ``/metrics``.
"""

import logging
import math
from collections.abc import Callable, Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from observability.metrics import add_scrape_time_collector

logger = logging.getLogger(__name__)

EMAILS_SENT = Counter("emails_sent", "Emails handed over to the SMTP server (or written to the log)")
EMAILS_FAILED = Counter("emails_failed", "Email send attempts that failed and will be retried (each retry counts)")
EMAILS_REFUSED = Counter("emails_refused", "Emails the SMTP server refused for good (FAILED, never retried)")


class OutboxPending(Collector):
    """The gauge ``outbox_pending``, counted at every scrape by ``count`` (none before it is set)."""

    def __init__(self) -> None:
        self.count: Callable[[], float] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.count is None:
            return
        try:
            pending = float(self.count())
        except Exception as error:
            logger.warning("outbox_pending: counting failed: %s", error.__class__.__name__)
            pending = math.nan
        yield GaugeMetricFamily("outbox_pending", "Emails recorded in the outbox and not sent yet", value=pending)


OUTBOX_PENDING = OutboxPending()
add_scrape_time_collector(OUTBOX_PENDING)


def email_sent() -> None:
    EMAILS_SENT.inc()


def email_failed() -> None:
    EMAILS_FAILED.inc()


def email_refused() -> None:
    EMAILS_REFUSED.inc()


def track_outbox_pending(count: Callable[[], float]) -> None:
    """Report ``count()`` as ``outbox_pending`` at every scrape (the last call wins).

    If ``count`` raises (the database is down), the scrape still answers, with NaN.
    """
    OUTBOX_PENDING.count = count
