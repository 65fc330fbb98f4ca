"""The production app plus routes that raise: for the 500 tests only, never shipped.

Served in a subprocess by ``uvicorn tests.system.failing_app:create_failing_app --factory``,
so the 500 goes through the real middlewares, logging and server.
"""

import logging
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from main import create_app
from user.interface.dependencies import CurrentUser

FAIL_PATH = "/test-only/fail"
FAIL_AS_USER_PATH = "/test-only/fail-as-user"
FAIL_MID_STREAM_PATH = "/test-only/fail-mid-stream"

logger = logging.getLogger(__name__)


class Boom(RuntimeError):
    pass


def fail() -> None:
    raise Boom("the test route failed on purpose")


def fail_as_user(user: CurrentUser) -> None:
    logger.warning("about to fail on purpose")
    raise Boom("the test route failed on purpose, for a signed-in user")


def fail_mid_stream() -> StreamingResponse:
    def chunks() -> Iterator[bytes]:
        yield b"the first chunk, then "
        raise Boom("the test stream failed on purpose")

    return StreamingResponse(chunks(), media_type="text/plain")


def create_failing_app() -> FastAPI:
    app = create_app()
    app.add_api_route(FAIL_PATH, fail, methods=["GET"])
    app.add_api_route(FAIL_AS_USER_PATH, fail_as_user, methods=["GET"])
    app.add_api_route(FAIL_MID_STREAM_PATH, fail_mid_stream, methods=["GET"])
    return app
