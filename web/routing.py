"""``ThreadedRoute``: the route class of every router, so a request costs one worker thread hop, or none.

FastAPI runs a sync (``def``) route in its thread pool, then hands the
route's return value to the thread pool *again* to validate it against the
response model; a sync dependency (the caller's lookup) costs one hop more.
On a small machine each hop is a wait for the GIL behind whatever else
runs. ``ThreadedRoute`` gives FastAPI an ``async`` endpoint that awaits the
sync route in one worker thread; FastAPI then validates and serializes the
result on the event loop, as it does for any ``async`` route. A dependency
whose work needs the database returns ``await in_route_thread(work)``
instead of doing it: the route's worker thread computes every such value
just before the route runs, so the caller's lookup shares the route's hop
(under another route class, ``in_route_thread`` computes it at once). Nothing else
changes: the parameters, dependencies, OpenAPI and errors are the sync
route's own, read through ``functools.wraps``.

A route marked ``@on_event_loop`` (its work is the database's alone) runs,
with its deferred values, in a greenlet on the event loop instead, where the
app gives a way to (``app.state.run_on_loop``: MariaDB/MySQL, whose loop
engine the units of work then use, ``database/engine.py``): no hop at all.
"""

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
U = TypeVar("U")
F = TypeVar("F", bound=Callable[..., Any])
Runner = Callable[..., Coroutine[Any, Any, Any]]
ON_EVENT_LOOP = "__on_event_loop__"


def on_event_loop(endpoint: F) -> F:
    """Marks a sync route whose work is the database's alone, and brief: no password hash, no broker,
    no file, no sleep. Where the app can (``app.state.run_on_loop``), ``ThreadedRoute`` runs it in a
    greenlet on the event loop, which waits for the database as an ``async`` route would; elsewhere
    (SQLite) in a worker thread, as any route. Anything that would stop the loop must stay unmarked."""
    setattr(endpoint, ON_EVENT_LOOP, True)
    return endpoint


class InRouteThread(Generic[T]):
    """A dependency's value that the route's worker thread computes, just before the route runs.

    The route receives the computed value, never this: its parameter keeps
    the value's type. ``then`` derives another such value (the caller's
    user from the caller), for a dependency built on this one. Computed
    once: a derived value computes its source once, whatever asks first.
    """

    __slots__ = ("_compute", "_value")

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute: Callable[[], T] | None = compute
        pending = _pending.get()
        if pending is not None:
            pending.append(self)

    def compute(self) -> T:
        if self._compute is not None:
            self._value, self._compute = self._compute(), None
        return self._value

    def then(self, step: Callable[[T], U]) -> "InRouteThread[U]":
        return InRouteThread(lambda: step(self.compute()))


Deferred = T | InRouteThread[T]
"""A dependency's value, or (under ``ThreadedRoute``) its computation in the route's worker thread."""


# The values this request's dependencies deferred, in the order they were made (``ThreadedRoute``).
_pending: ContextVar[list[InRouteThread[Any]] | None] = ContextVar("in_route_thread_pending", default=None)
# How this request runs an ``@on_event_loop`` route: the app's ``run_on_loop``, or None (a worker thread).
_loop_runner: ContextVar[Runner | None] = ContextVar("loop_runner", default=None)


async def in_route_thread(compute: Callable[[], T]) -> T | InRouteThread[T]:
    """What a dependency returns for work that needs the database: under ``ThreadedRoute``, the work
    deferred to the route's worker thread; under any other route class (``app.add_api_route``, a router
    made without ``route_class``), the value itself, computed now in a worker thread, so that such a
    route never receives a check that nobody ran."""
    if _pending.get() is None:
        return await run_in_threadpool(compute)
    return InRouteThread(compute)


def then(value: T | InRouteThread[T], step: Callable[[T], U]) -> U | InRouteThread[U]:
    """``step`` applied to a dependency's value, deferred with it if it is deferred."""
    if isinstance(value, InRouteThread):
        return value.then(step)
    return step(value)


def _compute_all(values: list[InRouteThread[Any]]) -> None:
    for value in values:
        value.compute()


def _computed(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: value.compute() if isinstance(value, InRouteThread) else value for name, value in kwargs.items()}


def in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async`` endpoint that runs the sync ``endpoint`` in the thread pool (or, marked
    ``@on_event_loop``, with the request's loop runner if it has one), with its ``InRouteThread``
    arguments computed there first; an async one gets them computed in one hop."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(value, InRouteThread) for value in kwargs.values()):
                kwargs = await run_in_threadpool(_computed, kwargs)
            return await endpoint(*args, **kwargs)

        return awaited

    def run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return endpoint(*args, **_computed(kwargs))

    if getattr(endpoint, ON_EVENT_LOOP, False):

        @functools.wraps(endpoint)
        async def on_loop(*args: Any, **kwargs: Any) -> Any:
            return await (_loop_runner.get() or run_in_threadpool)(run, args, kwargs)

        return on_loop

    @functools.wraps(endpoint)
    async def threaded(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(run, args, kwargs)

    return threaded


class ThreadedRoute(APIRoute):
    """A route whose deferred dependencies answer before its parameters' 422.

    FastAPI stops at the first dependency that raises (a 401 or a 403) and
    otherwise answers every invalid parameter together with a 422. A
    deferred check has not run yet when that 422 is raised, so a request
    with invalid parameters has its deferred values computed first, and
    their error (an ended token: 401) wins, as it would have had the
    dependency checked at once.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_worker_thread(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_deferred_first(request: Request) -> Response:
            pending: list[InRouteThread[Any]] = []
            reset = _pending.set(pending)
            runner = _loop_runner.set(getattr(request.app.state, "run_on_loop", None))
            try:
                return await handle(request)
            except RequestValidationError:
                if pending:
                    await run_in_threadpool(_compute_all, pending)
                raise
            finally:
                _loop_runner.reset(runner)
                _pending.reset(reset)

        return handle_deferred_first
