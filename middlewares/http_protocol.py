"""The HTTP/1.1 parser ``python main.py`` serves with: uvicorn's httptools
protocol, bounded, and logging what it refuses.

httptools (llhttp, uvicorn's fastest parser) keeps a request's head in memory
however large it grows: three connections sending a 100 MiB unfinished header
took the process from 102 MiB to 403 MiB. ``LoggedHttpToolsProtocol`` counts
the head's bytes as they arrive and answers 431 past ``MAX_HEAD_BYTES``
(request line and headers together). ``MAX_HEADER_COUNT`` bounds the number
of headers (``HeaderCountLimitMiddleware``, under any server).

A request the parser refuses (a head too large, ``Content-Length`` with
``Transfer-Encoding``, two ``Content-Length``, a bad chunk, a method llhttp
does not know, bytes that are no HTTP) never reaches the app, so the
activity-log middleware never sees it. The protocol answers it with a JSON
400 and writes its one ``event: "request"`` line itself, with what the bytes
received tell (method and path when the request line parsed, else ``null``).

It replaced a bounded h11 protocol: the same bounds and lines, and 38–60 %
more requests a second through the framework alone (docs/benchmarks.md).
"""

import asyncio
import logging
import re
import time
from http import HTTPStatus

import orjson
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from ulid import ULID
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from observability.log import REQUEST_LOGGER

# A request line and headers past this are refused: a generous cookie jar and a
# 4 KiB bearer token fit with room to spare; browsers and proxies stop near 8-16 KiB.
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100
REFUSED_DETAIL = "Invalid HTTP request"
TOO_MANY_HEADERS = "Too many request headers"
# Only what the request line of an HTTP/1.x request looks like: a token, a target, a version.
REQUEST_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}) (\S{1,8192}) HTTP/\d\.\d\r?$")
HEAD_END = re.compile(rb"\r?\n\r?\n")
# Where the protocol tells the activity log the status it answered in the app's place.
PARSER_STATUS = "parser_refused_status"

logger = logging.getLogger(REQUEST_LOGGER)


class LoggedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol: a head over ``MAX_HEAD_BYTES`` is answered 431, what
    the parser refuses a JSON 400, and each with its one activity-log line."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head = b""  # the first bytes of the request being received, up to the limit and one more
        self._in_head = True  # until the parser has the whole head
        self._started: float | None = None

    def data_received(self, data: bytes) -> None:
        if self._started is None:  # the first bytes of a request
            self._head, self._started = b"", time.perf_counter()
        if self._in_head and len(self._head) <= MAX_HEAD_BYTES:
            self._head += data[: MAX_HEAD_BYTES + 1 - len(self._head)]
            if len(self._head) > MAX_HEAD_BYTES and not HEAD_END.search(self._head):
                # httptools would keep an unfinished head in memory however long it grows.
                self._refuse(431, "Request header fields too large")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what follows on this connection is the next request's head
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._started = None  # the next bytes on this connection start another request
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """What httptools refuses (uvicorn answers it with plain text and no log line)."""
        self._refuse(400, REFUSED_DETAIL)

    def _refuse(self, status: int, detail: str) -> None:
        body = orjson.dumps({"detail": detail})
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
            f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        if not self.transport.is_closing():
            self.transport.write(head.encode("ascii") + body)
            self.transport.close()
        if self.cycle is not None and not self.cycle.response_complete:
            # The app has this request already (a bad chunk in its body): its activity-log
            # line is the request's one line, and says what the client got.
            self.cycle.scope["state"][PARSER_STATUS] = status
            self.cycle.disconnected = True
            self.cycle.message_event.set()
            return
        self._log(status)

    def _log(self, status: int) -> None:
        match = REQUEST_LINE.match(self._head.split(b"\n", 1)[0])
        method, path = (None, None)
        if match is not None:
            method = match.group(1).decode("ascii")
            path = match.group(2).split(b"?", 1)[0].decode("utf-8", "backslashreplace")
        started = self._started or time.perf_counter()
        logger.info(
            "request",
            extra={
                "request_id": str(ULID()),
                "user_id": None,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "client": f"{self.client[0]}:{self.client[1]}" if self.client else None,
            },
        )
        self._started = None


class HeaderCountLimitMiddleware:
    """Pure ASGI middleware: a request with more than ``max_count`` headers is answered 431."""

    def __init__(self, app: ASGIApp, max_count: int = MAX_HEADER_COUNT) -> None:
        self.app = app
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope["headers"]) > self.max_count:
            await JSONResponse({"detail": TOO_MANY_HEADERS}, status_code=431)(scope, receive, send)
            return
        await self.app(scope, receive, send)
