"""``EmailHandoff`` onto a small thread pool of the web process's own.

A signup hands its committed email here. Once the response is sent (the
request context's ``after_response``, run by the request-context middleware
as Starlette runs a BackgroundTask), these threads forward it
(``OutboxService.forward``: deliver it with no broker, publish it with one):
after the response, as with a plain BackgroundTask, but not on the threads
that serve requests: a slow or unreachable SMTP server (each attempt may take up to its
timeout) or a hanging broker (its connection timeout) never holds them. The
request's context (its request id) goes along, so the log lines name it.
"""

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from common.request_context import run_after_response
from mail.application.ports import EmailHandoff, QueuedEmail

logger = logging.getLogger(__name__)

EMAIL_THREADS = 2


class ThreadPoolEmailHandoff(EmailHandoff):
    """``forward``: what the threads do with each email (a fresh ``OutboxService`` each time)."""

    def __init__(self, *, forward: Callable[[QueuedEmail], object], threads: int = EMAIL_THREADS) -> None:
        self._forward = forward
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def hand_off(self, email: QueuedEmail) -> None:
        """During a request, once its response is sent (as a BackgroundTask would); otherwise at once."""
        if not run_after_response(lambda: self._submit(email)):
            self._submit(email)

    def _submit(self, email: QueuedEmail) -> None:
        context = contextvars.copy_context()
        try:
            with self._lock:
                if self._executor is None:  # first use, or the app started again after close()
                    self._executor = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="email")
                self._executor.submit(context.run, self._forward, email)
        except RuntimeError:  # the interpreter is shutting down: the relay will find the email
            logger.warning("email not handed off; it stays in the outbox", extra={"outbox_id": email.outbox_id})

    def close(self) -> None:
        """Let the sends under way finish; an email not yet started stays in the outbox for the relay."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
