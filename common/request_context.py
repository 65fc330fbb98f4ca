"""Who and which request the running code serves.

The request-context middleware puts a fresh ``RequestContext`` in the
context variable; the auth dependency fills in ``user_id`` and ``auth``. The object is
mutable on purpose: a dependency running in a worker thread sees a copy of
the context *variables*, but the same *object*, so what it writes is seen by
the middleware and by every log line of the request.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    request_id: str | None = None
    user_id: str | None = None
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
