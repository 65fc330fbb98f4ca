"""The one mapping from errors to HTTP responses, registered once in ``create_app``."""

import functools
import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from common.errors import (
    AppError,
    BadRequest,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Throttled,
    TooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from database.errors import is_write_conflict

logger = logging.getLogger(__name__)

STATUS_CODES: dict[type[AppError], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    Throttled: 429,
    DependencyUnavailable: 503,
}


def status_code_for(error: AppError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return 500


def app_error_response(error: AppError) -> JSONResponse:
    status = status_code_for(error)
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, InvalidInput):
        # The same shape as FastAPI's own 422s, so clients parse one format.
        location = ["body", *error.location]
        body = {"detail": [{"type": "value_error", "loc": location, "msg": error.message, "input": None}]}
        return JSONResponse(body, status_code=status)
    return JSONResponse({"detail": error.message}, status_code=status, headers=headers)


async def _handle_app_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return app_error_response(error)


async def _handle_database_down(_request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, DBAPIError) and is_write_conflict(error):
        # A deadlock or lock-wait timeout that escaped every unit of work's retry: a concurrent
        # write won, the database is up. A 409 the client may retry, never "unavailable".
        logger.warning("write aborted by a concurrent one: %s", error.__class__.__name__)
        return app_error_response(Conflict("The change could not be written because of concurrent changes; try again"))
    logger.error("database unavailable: %s", error.__class__.__name__)
    return app_error_response(DependencyUnavailable("Database unavailable"))


async def _handle_http_error(request: Request, error: Exception) -> Response:
    """The framework's own HTTP errors, with two corrections:

    - a 400 is a body the framework could not parse (not UTF-8, nested past the parser's limit, a broken
      multipart form): a 422 like every other malformed body (bad JSON, wrong types), not a code of its own;
    - a 405's ``Allow`` names the methods the OpenAPI document lists for the path, not only those of the
      route that happened to match it first.
    """
    assert isinstance(error, HTTPException)
    if error.status_code == 400:
        return app_error_response(InvalidInput(f"The body could not be parsed: {_parse_failure(error)}"))
    if error.status_code == 405 and (methods := allowed_methods(request)) is not None:
        return JSONResponse({"detail": error.detail}, status_code=405, headers={"Allow": ", ".join(methods)})
    return await http_exception_handler(request, error)


def _parse_failure(error: HTTPException) -> str:
    if isinstance(error.__cause__, UnicodeDecodeError):
        return "it is not valid UTF-8"
    if isinstance(error.__cause__, RecursionError):
        return "it is nested too deeply"
    if isinstance(error.__cause__, ValueError):  # an integer of more digits than Python converts, say
        return "a value in it is past what the parser reads"
    return str(error.detail)


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def allowed_methods(request: Request) -> list[str] | None:
    """The methods of the request's path in the OpenAPI document; ``None`` for a path it does not describe.

    Of the path templates that match, the most specific wins (the fewest parameters: ``/users/login``
    over ``/users/{user_id}``), as OpenAPI resolves them.
    """
    matching = [
        (template.count("{"), operations)
        for template, operations in request.app.openapi()["paths"].items()
        if _template_pattern(template).fullmatch(request.scope["path"])
    ]
    if not matching:
        return None
    _, operations = min(matching, key=lambda match: match[0])
    return sorted(method.upper() for method in operations if method in HTTP_METHODS)


@functools.cache
def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\{[^}]*\\}", "[^/]+", re.escape(template)))


async def _handle_validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422, echoing each rejected input only when JSON can carry it back: a string (any lone
    surrogate replaced), a number that is finite, a boolean or null. A list or object is left out, as
    one nested a thousand deep cannot be encoded again; so is NaN, which Python's JSON parser accepts."""
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": jsonable_encoder([_echoable(item) for item in error.errors()])}, status_code=422)


def _echoable(error: dict[str, Any]) -> dict[str, Any]:
    echoed = {key: value for key, value in error.items() if key != "input"}
    echoed["msg"] = _text(str(error.get("msg", "")))
    value = error.get("input")
    if isinstance(value, str):
        echoed["input"] = _text(value)
    elif value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        echoed["input"] = value
    return echoed


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(HTTPException, _handle_http_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    for database_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(database_error, _handle_database_down)
