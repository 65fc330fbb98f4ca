"""Trusted hosts (SPEC §15): Starlette's ``TrustedHostMiddleware``, with two changes.

- A request for another ``Host`` (or none) gets 400
  ``{"detail": "Invalid host header"}`` in JSON, like every error of the API,
  where Starlette answers in plain text; and never a redirect to a ``www.``
  name.
- ``/health`` answers on any host: load balancers probe it by address.

Starlette's middleware does the checking. It either calls the app, with the
``send`` it was given, or sends its own refusal through that ``send``; so the
``send`` handed to it rewrites what it receives as the JSON refusal, and the
app, when called, unwraps it and answers through the original.
"""

from collections.abc import Sequence

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DETAIL = "Invalid host header"
ANY_HOST_PATHS = frozenset({"/health"})


class JsonTrustedHostMiddleware:
    def __init__(self, app: ASGIApp, *, hosts: Sequence[str]) -> None:
        self.app = app
        self.host_check = TrustedHostMiddleware(self._host_accepted, allowed_hosts=list(hosts), www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ANY_HOST_PATHS:
            await self.app(scope, receive, send)
            return
        await self.host_check(scope, receive, _RefusalInJson(send))

    async def _host_accepted(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert isinstance(send, _RefusalInJson)
        await self.app(scope, receive, send.original)


class _RefusalInJson:
    """The ``send`` Starlette's check gets: whatever comes through it is the refusal, sent as JSON instead."""

    refusal = JSONResponse({"detail": DETAIL}, status_code=400)

    def __init__(self, original: Send) -> None:
        self.original = original

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(self.refusal.raw_headers)  # a copy: outer middlewares may add to it
            await self.original({"type": "http.response.start", "status": 400, "headers": headers})
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await self.original({"type": "http.response.body", "body": self.refusal.body})
