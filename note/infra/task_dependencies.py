"""What the digest's Celery tasks take from the container: ``containers.worker_container`` wires this module.

Apart from ``celery_tasks.py`` for the reason ``mail/infra/task_dependencies.py`` gives.
"""

from collections.abc import Iterator

from dependency_injector.wiring import Provide, inject

from note.application.digest_service import DigestService


@inject
def due_digest_batches(service: DigestService = Provide["digest_service"]) -> Iterator[list[str]]:
    return service.due_accounts()


@inject
def send_digests(user_ids: list[str], service: DigestService = Provide["digest_service"]) -> int:
    return service.send_digests(user_ids)
