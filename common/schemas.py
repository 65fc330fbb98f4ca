"""Pieces of the HTTP schema that every app's interface layer shares."""

from datetime import UTC, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, Field, PlainSerializer, WithJsonSchema

from common.errors import InvalidInput
from common.pagination import DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, PageRequest

UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(UTC).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-11-27T09:30:00.123456+00:00"}),
]
"""An aware datetime, written as ISO 8601 in UTC with an explicit ``+00:00``."""


def _email(value: str) -> str:
    try:
        return validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None


Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}, examples=["dexter@example.com"]),
    AfterValidator(_email),
]
"""An email address, checked by email-validator without DNS (``.test`` domains are fine)."""


class ErrorResponse(BaseModel):
    detail: str


class ServerErrorResponse(ErrorResponse):
    request_id: str


ERROR_DESCRIPTIONS = {
    401: "Missing, invalid or expired credentials",
    403: "Authenticated, but not allowed",
    404: "Not found",
    409: "Conflict",
    412: "If-Match does not match the current ETag",
    413: "Request body over 1 MiB",
    429: "Too many failed attempts; see Retry-After",
    503: "A dependency (the database) is unavailable",
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes an operation can answer."""
    return {code: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[code]} for code in status_codes}


def pydantic_rule(check: Any) -> Any:
    """Run a domain check as a pydantic validator, so the 422 names the field."""

    def validate(value: Any) -> Any:
        if value is None:
            return value
        try:
            return check(value)
        except InvalidInput as error:
            raise ValueError(error.message) from None

    return validate


async def page_request(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    items_per_page: Annotated[int, Query(ge=1, le=MAX_ITEMS_PER_PAGE)] = DEFAULT_ITEMS_PER_PAGE,
) -> PageRequest:
    return PageRequest(page=page, items_per_page=items_per_page)


Pagination = Annotated[PageRequest, Depends(page_request)]
