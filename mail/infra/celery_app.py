"""Celery on RabbitMQ: the broker settings, the web's publisher, and the workers' app class.

The web process publishes with ``build_celery_app`` (it never consumes) and
``CeleryEmailPublisher``: one ``mail.deliver_email`` task per email, published
once, with no retries and a short connection timeout: a broker that is down
fails the publish at once, and the outbox keeps the email for the relay.

The workers run ``WorkerCelery`` (``common/messaging.py`` builds it), which
asks the composition root for its container on first use, never at import.
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery, bootsteps

from mail.application.ports import EmailPublisher, QueuedEmail
from mail.domain.errors import EmailPublishFailed
from mail.infra.celery_tasks import DELIVER_EMAIL_TASK

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


class CeleryEmailPublisher(EmailPublisher):
    """The task id is the outbox claim, so a worker knows which claim it takes over."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def publish(self, email: QueuedEmail) -> None:
        try:
            self._app.send_task(DELIVER_EMAIL_TASK, args=[email.outbox_id], task_id=email.claim, retry=False)
        except Exception as error:  # kombu, amqp and socket errors alike: the broker did not take it
            raise EmailPublishFailed(f"{type(error).__name__}: {error}") from None


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

    def __init__(
        self, *args: Any, build_container: Callable[["WorkerCelery"], Any] | None = None, **kwargs: Any
    ) -> None:
        """``build_container(app)``: the composition root's worker container, asked for on first use."""
        super().__init__(*args, **kwargs)
        self.build_container = build_container
        self.steps["consumer"].add(RelayStep)

    def on_configure(self) -> None:
        if self.build_container is None:
            raise RuntimeError("WorkerCelery needs build_container: see common/messaging.py")
        self.container = self.build_container(self)
        self.config_from_object(self.container.celery_config())
