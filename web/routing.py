"""``ThreadedRoute``: the route class of every router, so a sync route costs one worker thread hop.

FastAPI runs a sync (``def``) route in its thread pool, then hands the
route's return value to the thread pool *again* to validate it against the
response model: two hops for one request, and on a small machine each hop
is a wait for the GIL behind whatever else runs. ``ThreadedRoute`` gives
FastAPI an ``async`` endpoint that awaits the sync route in one worker
thread; FastAPI then validates and serializes the result on the event loop,
as it does for any ``async`` route. Nothing else changes: the parameters,
dependencies, OpenAPI and errors are the sync route's own, read through
``functools.wraps``.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async`` endpoint that runs the sync ``endpoint`` in the thread pool (an async one as it is)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def threaded(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return threaded


class ThreadedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_worker_thread(endpoint), **kwargs)
