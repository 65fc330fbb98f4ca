"""``EmailDispatcher`` without a broker: a small thread pool of the web process's own.

The send happens after the response, as with a plain BackgroundTask, but
not on the threads that serve requests: a slow or unreachable SMTP server
(each attempt may take up to its timeout) never holds them. The request's
context (its request id) goes along, so the send's log lines name it.
"""

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from user.application.ports import EmailDispatcher, QueuedEmail

EMAIL_THREADS = 2


class ThreadPoolEmailDispatcher(EmailDispatcher):
    def __init__(self, *, deliver: Callable[[QueuedEmail], object], threads: int = EMAIL_THREADS) -> None:
        self._deliver = deliver
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="email")

    def dispatch(self, email: QueuedEmail) -> None:
        context = contextvars.copy_context()
        self._executor.submit(context.run, self._deliver, email)

    def close(self) -> None:
        """Let the sends under way finish; an email not yet started stays in the outbox for the relay."""
        self._executor.shutdown(wait=True, cancel_futures=True)
