"""A daemon thread that runs an action every few seconds until stopped."""

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PeriodicThread:
    """Runs ``action`` at once, then ``interval`` seconds after each run ends.

    An exception is logged and the next run happens as usual. ``stop`` waits
    for a running action to finish, at most ``stop_timeout`` seconds.
    """

    def __init__(self, *, name: str, interval: float, action: Callable[[], object], stop_timeout: float = 30) -> None:
        self._name = name
        self._interval = interval
        self._action = action
        self._stop_timeout = stop_timeout
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        logger.info("%s started, every %ss", self._name, self._interval)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(self._stop_timeout)
        logger.info("%s stopped", self._name)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._action()
            except Exception:
                logger.exception("%s: a run failed", self._name)
            self._stopping.wait(self._interval)
