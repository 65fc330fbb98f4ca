"""The Celery workers' entry point: ``celery -A common.messaging.celery worker --loglevel=info``.

Add ``-n worker2@%h`` for a second worker on the same host. Importing this
module reads nothing: the app (``mail/infra/celery_app.py``) configures itself
on first use, asking the composition root (``containers.worker_container``)
for a container built from the settings. Imports go one way: this module
knows ``containers``; ``containers`` never imports this module.
"""

import logging
import sys
from pathlib import Path
from typing import Any

from celery.signals import setup_logging, worker_process_init

from mail.infra.celery_app import WorkerCelery
from observability.log import configure_logging

logger = logging.getLogger(__name__)

# The ``celery`` console script puts the working directory on ``sys.path``
# only while it imports this module (``celery.utils.imports.cwd_in_path``)
# and takes it off again before the worker configures itself and imports its
# tasks. An entry of our own, at the end, stays: the checkout this module is
# in, where ``containers`` and the apps live.
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
sys.path.append(PROJECT_ROOT)


def _worker_container(app: WorkerCelery) -> Any:
    from containers import worker_container  # noqa: PLC0415 - the composition root, on first use only

    return worker_container(app)


celery = WorkerCelery("til", build_container=_worker_container)


@setup_logging.connect
def _log_as_json(loglevel: int | str | None = None, **_kwargs: Any) -> None:
    """The worker logs the same JSON lines as the web (``observability/log.py``), not Celery's format."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel or "INFO"
    configure_logging(level)


@worker_process_init.connect
def _drop_inherited_connections(**_kwargs: Any) -> None:
    """A pool process starts with a copy of its parent's connection pool: never use those sockets."""
    if celery.container is not None:
        celery.container.engine().dispose(close=False)
