"""``EmailDispatcher`` onto a small thread pool of the web process's own.

A signup's background task hands its email here; these threads then send it
(no broker) or publish it (broker). Either way the work happens after the
response, as with a plain BackgroundTask, but not on the threads that serve
requests: a slow or unreachable SMTP server (each attempt may take up to its
timeout) or a hanging broker (its connection timeout) never holds them. The
request's context (its request id) goes along, so the log lines name it.
"""

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from user.application.ports import EmailDispatcher, QueuedEmail

EMAIL_THREADS = 2


class ThreadPoolEmailDispatcher(EmailDispatcher):
    def __init__(self, *, deliver: Callable[[QueuedEmail], object], threads: int = EMAIL_THREADS) -> None:
        self._deliver = deliver
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def dispatch(self, email: QueuedEmail) -> None:
        context = contextvars.copy_context()
        with self._lock:
            if self._executor is None:  # first use, or the app started again after close()
                self._executor = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="email")
            self._executor.submit(context.run, self._deliver, email)

    def close(self) -> None:
        """Let the sends under way finish; an email not yet started stays in the outbox for the relay."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
