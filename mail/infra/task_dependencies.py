"""What the Celery tasks take from the container: ``containers.worker_container`` wires this module.

Apart from ``celery_tasks.py`` on purpose: wiring inspects every name of a
module, and touching a task proxy there would finalize the Celery app
while it is still being configured.
"""

from dependency_injector.wiring import Provide, inject

from mail.application.outbox_service import DeliveryOutcome, OutboxService


@inject
def deliver_email(outbox_id: str, *, claim: str, service: OutboxService = Provide["outbox_service"]) -> DeliveryOutcome:
    return service.deliver(outbox_id=outbox_id, claim=claim)
