"""Pure ASGI middleware: refuses request bodies over a limit with 413.

A declared ``Content-Length`` over the limit is refused before the body is
read. A body without one (chunked) is read ahead, up to the limit, before the
app runs: past it, 413, whichever route it was sent to, even one that never
reads a body (``DELETE /users`` must not run because of what it ignores).
What the app reads is counted too, as a last guard.

Routes may have a wider limit of their own (``POST /notes/import`` takes
``IMPORT_MAX_BYTES``), keyed by method and exact path; every other route
keeps 1 MiB.
"""

from collections import deque
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
DETAIL = "Request body is larger than 1 MiB"


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str = DETAIL) -> None:
        super().__init__(status_code=413, detail=detail)


def wider_limit_detail(max_bytes: int) -> str:
    return f"Request body is larger than {max_bytes} bytes (IMPORT_MAX_BYTES)"


class BodySizeLimitMiddleware:
    """``route_limits``: ``{(method, path): max_bytes}`` for the routes whose limit is not ``max_bytes``."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        route_limits: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})

    def _limit(self, scope: Scope) -> tuple[int, str]:
        wider = self.route_limits.get((scope["method"], scope["path"]))
        return (self.max_bytes, DETAIL) if wider is None else (wider, wider_limit_detail(wider))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, detail = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        if declared is None and _header(scope, b"transfer-encoding") is not None:
            read_ahead = await _read_ahead(receive, max_bytes)
            if read_ahead is None:
                await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
                return
            receive = _replaying(read_ahead, receive)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # FastAPI re-raises HTTPExceptions from body reading, so
                    # this becomes an ordinary 413 JSON response.
                    raise BodyTooLarge(detail)
            return message

        await self.app(scope, counting_receive, send)


async def _read_ahead(receive: Receive, max_bytes: int) -> list[Message] | None:
    """The body's messages up to its end (or the client's disconnect); ``None`` once past ``max_bytes``."""
    messages: list[Message] = []
    received = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        received += len(message.get("body", b""))
        if received > max_bytes:
            return None
        if not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back ``messages``."""
    pending = deque(messages)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
