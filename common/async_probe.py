"""A blocking health probe, awaited without a request thread (``GET /health``).

``KombuBrokerProbe`` and ``SqlAlchemyDatabaseProbe`` block for up to their
timeouts when what they probe hangs. Run on the threads that serve requests,
every ``/health`` held one of them for that long, and a few clients polling
``/health`` starved the whole API. ``AsyncProbe`` runs the blocking probe on
one thread of its own instead; callers await it on the event loop, callers
that arrive while a run is under way share that run (and a finished answer
may be reused for ``reuse_seconds``, none by default). So a probe runs at most once at a time per process,
however many clients ask, and no request thread waits for it.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

logger = logging.getLogger(__name__)

# A finished answer is not reused (a broker that just went away is reported by the next call);
# sharing the run under way already bounds probing to one run at a time, however many clients poll.
REUSE_SECONDS = 0.0


class BlockingProbe(Protocol):
    def is_up(self) -> bool: ...


class AsyncProbe:
    """``await probe.is_up()``: the blocking probe's answer, run off the request threads."""

    def __init__(self, probe: BlockingProbe, *, reuse_seconds: float = REUSE_SECONDS) -> None:
        self._probe = probe
        self._reuse_seconds = reuse_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"probe-{type(probe).__name__}")
        self._running: asyncio.Future[bool] | None = None  # of the loop that started it
        self._last: tuple[float, bool] | None = None  # (monotonic time it finished, answer)

    async def is_up(self) -> bool:
        if self._last is not None and time.monotonic() - self._last[0] < self._reuse_seconds:
            return self._last[1]
        running = self._running
        if running is None or running.done() or running.get_loop() is not asyncio.get_running_loop():
            running = self._running = asyncio.ensure_future(self._run())
        # Shielded: a client that hangs up cancels its wait, never the run the others share.
        return await asyncio.shield(running)

    async def _run(self) -> bool:
        try:
            answer = await asyncio.wrap_future(self._thread.submit(self._probe.is_up))
        except Exception as error:  # a probe reports False itself; anything else is a failed probe too
            logger.warning("probe %s raised %s", type(self._probe).__name__, error.__class__.__name__)
            answer = False
        self._last = (time.monotonic(), answer)
        return answer

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
