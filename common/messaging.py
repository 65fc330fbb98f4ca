"""Celery on RabbitMQ: the workers' app, the broker settings, the broker probe of ``GET /health``.

``celery -A common.messaging.celery worker --loglevel=info`` runs a worker
(add ``-n worker2@%h`` for a second one on the same host). Importing this
module reads nothing: the app configures itself on first use
(``WorkerCelery.on_configure``), asking the composition root
(``containers.worker_container``) for a container built from the settings,
and takes the broker configuration and the outbox relay from it.

The web process never runs this app: its container builds a publisher of
its own (``build_celery_app``) from the settings the app was created with.
"""

import logging
from collections.abc import Sequence
from typing import Any

from celery import Celery, bootsteps
from celery.signals import setup_logging, worker_process_init
from kombu import Connection

from common.log import configure_logging

logger = logging.getLogger(__name__)

# Connecting to the broker: publishing from a web request, and /health.
BROKER_TIMEOUT_SECONDS = 2.0


def celery_configuration(*, broker_url: str, result_backend: str | None, include: Sequence[str] = ()) -> dict[str, Any]:
    """At-least-once delivery: a task is acknowledged after it ran, and put back
    in the queue when its worker dies; publishes are confirmed by the broker."""
    return {
        "broker_url": broker_url,
        "result_backend": result_backend,
        "task_ignore_result": result_backend is None,
        "include": list(include),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A worker that loses the broker stops its unacknowledged tasks: the
        # broker hands them out again, and two copies never run at once.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Publishing: one try, broker confirms, short timeouts. A failed
        # publish leaves the email in the outbox for the relay.
        "task_publish_retry": False,
        "broker_connection_timeout": BROKER_TIMEOUT_SECONDS,
        "broker_transport_options": {"confirm_publish": True, "max_retries": 0},
        # A worker waits for the broker as long as it takes, at start and after a loss.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }


def build_celery_app(*, broker_url: str, result_backend: str | None) -> Celery:
    """A publisher for the web process (it never consumes)."""
    app = Celery("til", set_as_current=False)
    app.config_from_object(celery_configuration(broker_url=broker_url, result_backend=result_backend))
    return app


class KombuBrokerProbe:
    """``GET /health``: can a connection to the broker be opened now?"""

    def __init__(self, url: str, *, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
        self._url = url
        self._timeout = timeout

    def is_up(self) -> bool:
        try:
            with Connection(self._url, connect_timeout=self._timeout) as connection:
                connection.ensure_connection(max_retries=0, timeout=self._timeout)
        except Exception as error:
            logger.warning("broker probe failed: %s", error.__class__.__name__)
            return False
        return True


class RelayStep(bootsteps.StartStopStep):
    """Runs the outbox relay (``container.email_relay``) while the worker is
    connected to the broker: the consumer starts its steps once connected and
    stops them when the connection is lost, until it is back."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._relay: Any = None

    def start(self, parent: Any) -> None:
        if self._relay is None:
            self._relay = parent.app.container.email_relay()
            self._relay.start()

    def stop(self, parent: Any) -> None:
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.stop()

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)


class WorkerCelery(Celery):
    """The workers' app: configured from the composition root on first use, never at import."""

    container: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps["consumer"].add(RelayStep)

    def on_configure(self) -> None:
        from containers import worker_container  # noqa: PLC0415 - the composition root, on first use only

        self.container = worker_container(self)
        self.config_from_object(self.container.celery_config())


celery = WorkerCelery("til")


@setup_logging.connect
def _log_as_json(loglevel: int | str | None = None, **_kwargs: Any) -> None:
    """The worker logs the same JSON lines as the web (``common/log.py``), not Celery's format."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel or "INFO"
    configure_logging(level)


@worker_process_init.connect
def _drop_inherited_connections(**_kwargs: Any) -> None:
    """A pool process starts with a copy of its parent's connection pool: never use those sockets."""
    if celery.container is not None:
        celery.container.engine().dispose(close=False)
