"""``GET /health``'s broker probe: can a connection to the broker be opened now?"""

import logging

from kombu import Connection

from mail.infra.celery_app import BROKER_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)


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
