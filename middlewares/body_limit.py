"""Pure ASGI middleware: refuses request bodies over a limit with 413.

A declared ``Content-Length`` over the limit is refused before the body is
read. A body without one (chunked) is read ahead, up to the limit, before the
app runs: past it, 413, whichever route it was sent to, even one that never
reads a body (``DELETE /users`` must not run because of what it ignores).
What the app reads is counted too, as a last guard.
"""

from collections import deque

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
DETAIL = "Request body is larger than 1 MiB"


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail=DETAIL)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await JSONResponse({"detail": DETAIL}, status_code=413)(scope, receive, send)
            return
        if declared is None and _header(scope, b"transfer-encoding") is not None:
            read_ahead = await self._read_ahead(receive)
            if read_ahead is None:
                await JSONResponse({"detail": DETAIL}, status_code=413)(scope, receive, send)
                return
            receive = _replaying(read_ahead, receive)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions from body reading, so
                    # this becomes an ordinary 413 JSON response.
                    raise BodyTooLarge()
            return message

        await self.app(scope, counting_receive, send)

    async def _read_ahead(self, receive: Receive) -> list[Message] | None:
        """The body's messages up to its end (or the client's disconnect); ``None`` once past the limit."""
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            received += len(message.get("body", b""))
            if received > self.max_bytes:
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
