"""The one mapping from errors to HTTP responses, registered once in ``create_app``."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from common.errors import (
    AppError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Throttled,
    Unauthenticated,
)

logger = logging.getLogger(__name__)

STATUS_CODES: dict[type[AppError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
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
        body = {"detail": [{"type": "value_error", "loc": ["body"], "msg": error.message, "input": None}]}
        return JSONResponse(body, status_code=status)
    return JSONResponse({"detail": error.message}, status_code=status, headers=headers)


async def _handle_app_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return app_error_response(error)


async def _handle_database_down(_request: Request, error: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", error.__class__.__name__)
    return app_error_response(DependencyUnavailable("Database unavailable"))


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    for database_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(database_error, _handle_database_down)
