"""Who and which request the running code serves.

The request-context middleware puts a fresh ``RequestContext`` in the
context variable; the auth dependency fills in ``user_id`` and ``auth``. The object is
mutable on purpose: a dependency running in a worker thread sees a copy of
the context *variables*, but the same *object*, so what it writes is seen by
the middleware and by every log line of the request.

``after_response`` holds what must run once the response is sent (the
hand-off of a committed email, like a BackgroundTask): the middleware runs it.
"""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestContext:
    request_id: str | None = None
    user_id: str | None = None
    after_response: list[Callable[[], object]] = field(default_factory=list)
    auth: str | None = None  # the kind of token the caller used: "login" or "pat"


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request_context() -> RequestContext:
    """The running request's context, or an empty one outside a request."""
    return _current.get() or RequestContext()


def bind_request_context(context: RequestContext) -> object:
    """Make ``context`` current; returns the token that ``reset_request_context`` takes."""
    return _current.set(context)


def reset_request_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def run_after_response(action: Callable[[], object]) -> bool:
    """Run ``action`` once the running request's response is sent; ``False`` outside a request (run it now)."""
    context = _current.get()
    if context is None:
        return False
    context.after_response.append(action)
    return True
