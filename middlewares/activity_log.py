"""Pure ASGI middleware: exactly one JSON line per HTTP request, and its metrics.

It runs inside the request-context middleware, so the line carries the
request id, and the user id and kind of token (``auth``) that the auth dependency wrote into the shared
context while the route ran. It never reads the body, the query string or
any header.

``duration_ms`` (and the latency histogram) run until the last byte of the
response is handed to the server, so work done after it (BackgroundTasks)
does not count; the line itself is written once the app has returned, in a
``finally``, so a request that raises still gets exactly one line.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.request_context import current_request_context
from middlewares.http_protocol import PARSER_STATUS
from middlewares.metrics import observe_request
from observability.log import REQUEST_LOGGER

logger = logging.getLogger(REQUEST_LOGGER)


class ActivityLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered: float | None = None
        status = 500  # what the client gets if the app raises before answering

        async def send_and_watch(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = time.perf_counter()

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            # The server cut a request the app was reading (a bad chunk) and answered it itself.
            status = scope.get("state", {}).get(PARSER_STATUS, status)
            seconds = (answered or time.perf_counter()) - started
            observe_request(scope, status=status, seconds=seconds)
            client = scope.get("client")
            context = current_request_context()
            logger.info(
                "request",
                extra={
                    "request_id": context.request_id,
                    "user_id": context.user_id,
                    "auth": context.auth,
                    "method": scope["method"],
                    "path": request_path(scope),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": f"{client[0]}:{client[1]}" if client else None,
                },
            )


# A path parameter of this name is a secret (a share link's token): the line shows the name instead.
SECRET_PATH_PARAMETER = "{token}"


def request_path(scope: Scope) -> str:
    """The path as the client sent it (percent-escapes kept), without the query string, and with
    every ``{token}`` segment of the matched route's template in place of the token sent."""
    raw = scope.get("raw_path")
    path = scope["path"] if not raw else raw.split(b"?", 1)[0].decode("utf-8", "backslashreplace")
    template = getattr(scope.get("route"), "path_format", "")
    if SECRET_PATH_PARAMETER not in template:
        return path
    segments, template_segments = path.split("/"), template.split("/")
    if len(segments) != len(template_segments):
        return template
    return "/".join(
        SECRET_PATH_PARAMETER if pattern == SECRET_PATH_PARAMETER else segment
        for segment, pattern in zip(segments, template_segments, strict=True)
    )
