"""Pure ASGI middleware: exactly one JSON line per HTTP request, and its metrics.

It runs inside the request-context middleware, so the line carries the
request id, and the user id that the auth dependency wrote into the shared
context while the route ran. It never reads the body, the query string or
the headers' values beyond the client address.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.request_context import current_request_context
from middlewares.metrics import observe_request

logger = logging.getLogger("activity")


class ActivityLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            seconds = time.perf_counter() - started
            observe_request(scope, status=status, seconds=seconds)
            context = current_request_context()
            client = scope.get("client")
            logger.info(
                "request",
                extra={
                    "request_id": context.request_id,
                    "user_id": context.user_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": f"{client[0]}:{client[1]}" if client else None,
                },
            )
