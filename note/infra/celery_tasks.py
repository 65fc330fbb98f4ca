"""Celery tasks of the weekly digest, run by ``celery -A common.messaging.celery worker``.

``note.plan_digests`` is the periodic task: ``celery -A common.messaging.celery beat``
publishes it every ``DIGEST_INTERVAL_SECONDS`` (``beat_schedule`` in the Celery
configuration, see ``containers.py``). A worker runs it: it finds the accounts
whose digest is due and publishes ``note.send_digests`` with their ids, one
task per batch, so many workers share the per-account work. Any number of beats,
planners and senders may race: the outbox's dedupe key lets one digest per
account and week through.
"""

from celery import Task, shared_task

from note.infra.task_dependencies import due_digest_batches, send_digests

PLAN_DIGESTS_TASK = "note.plan_digests"
SEND_DIGESTS_TASK = "note.send_digests"


@shared_task(name=PLAN_DIGESTS_TASK, bind=True, ignore_result=True)
def plan_digests(task: Task) -> int:
    """Publish one ``note.send_digests`` per batch of due accounts; how many batches."""
    batches = 0
    for batch in due_digest_batches():
        task.app.send_task(SEND_DIGESTS_TASK, args=[batch])
        batches += 1
    return batches


@shared_task(name=SEND_DIGESTS_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_digests_task(user_ids: list[str]) -> int:
    return send_digests(user_ids)
