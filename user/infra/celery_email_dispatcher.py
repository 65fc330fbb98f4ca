"""``EmailDispatcher`` on Celery: one ``user.send_email`` task per email, published once.

No retries and a short connection timeout (``common/messaging.py``): a
broker that is down fails the publish at once, and the outbox keeps the
email for the relay.
"""

from celery import Celery

from user.application.ports import EmailDispatcher, EmailDispatchFailed, QueuedEmail
from user.infra.celery_tasks import SEND_EMAIL_TASK


class CeleryEmailDispatcher(EmailDispatcher):
    def __init__(self, app: Celery) -> None:
        self._app = app

    def dispatch(self, email: QueuedEmail) -> None:
        try:
            self._app.send_task(SEND_EMAIL_TASK, args=[email.outbox_id], task_id=email.claim, retry=False)
        except Exception as error:  # kombu, amqp and socket errors alike: the broker did not take it
            raise EmailDispatchFailed(f"{type(error).__name__}: {error}") from None
