"""Celery tasks of the mail app, run by ``celery -A common.messaging.celery worker``.

The task id is the outbox claim (``QueuedEmail.claim``): a task redelivered
after its worker died carries the same id, so it takes over the claim at
once, while any other copy finds the email claimed or sent and does nothing.
"""

from celery import Task, shared_task

from mail.infra.task_dependencies import deliver_email

DELIVER_EMAIL_TASK = "mail.deliver_email"
# The name before the mail app existed: tasks a web process of the previous
# release published while the workers were upgraded still run.
LEGACY_DELIVER_EMAIL_TASK = "user.send_email"


@shared_task(name=DELIVER_EMAIL_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(task: Task, outbox_id: str) -> str:
    return deliver_email(outbox_id, claim=task.request.id).value


@shared_task(name=LEGACY_DELIVER_EMAIL_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_legacy(task: Task, outbox_id: str) -> str:
    return deliver_email(outbox_id, claim=task.request.id).value
