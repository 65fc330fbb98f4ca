"""CORS (SPEC §15): Starlette's ``CORSMiddleware`` for the listed origins only.

An allowed origin gets ``Access-Control-Allow-Origin`` with that origin
(never ``*``), the exposed headers below and, on a preflight, the methods and
request headers the API uses. Credentials are never allowed: the API takes
bearer tokens, not cookies.

Any other origin gets no CORS header at all: its requests go to the app as if
CORS were off (a preflight from it is an ordinary ``OPTIONS``, 405), where
Starlette alone would add ``Access-Control-Expose-Headers`` to its responses
and the preflight headers to a plain-text 400. Every response says
``Vary: Origin``, so a cache never hands one origin's answer to another.
A preflight that asks for a method or header outside the lists is refused
with 400 in JSON (``{"detail": "Disallowed CORS method"}``), like every error.
"""

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "X-Request-ID")
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-ID")
PREFLIGHT_MAX_AGE_SECONDS = 600


class AllowedOriginsCORSMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=tuple(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None or not self.is_allowed_origin(origin):
            await self.app(scope, receive, _varying_on_origin(send))
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        cors_headers = {
            name: value
            for name, value in response.headers.items()
            if name.startswith("access-control-") or name == "vary"
        }
        return JSONResponse({"detail": bytes(response.body).decode()}, status_code=400, headers=cors_headers)


def _varying_on_origin(send: Send) -> Send:
    async def send_with_vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Origin")
        await send(message)

    return send_with_vary
