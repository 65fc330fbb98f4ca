"""Pure ASGI middleware: gives every request an id and a context, turns
an unhandled exception into a 500 JSON body that names the request, and runs
the context's ``after_response`` actions once the response is sent."""

import logging
import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

from common.request_context import RequestContext, bind_request_context, reset_request_context

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _SANE_REQUEST_ID.fullmatch(value) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id=incoming_request_id(scope) or str(ULID()))
        token = bind_request_context(context)
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, context.request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            if response_started:
                # Too late for a 500: uvicorn logs the traceback and drops the
                # connection. The context stays bound (it ends with the
                # request's task), so uvicorn's line names the request too.
                raise
            logger.exception("unhandled error")
            body = orjson.dumps({"detail": "Internal Server Error", "request_id": context.request_id})
            await send_with_request_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            _run_after_response(context)
        reset_request_context(token)


def _run_after_response(context: RequestContext) -> None:
    """Like Starlette's BackgroundTasks: after the response, in the request's context (its log lines name it)."""
    actions, context.after_response = context.after_response, []
    for action in actions:
        try:
            action()
        except Exception:
            logger.exception("an after-response action failed")
