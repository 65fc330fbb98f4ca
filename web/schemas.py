"""Pieces of the HTTP schema that every app's interface layer shares."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from common.email_address import NotAnEmailAddress, normalize_email
from common.errors import InvalidInput
from common.pagination import DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, PageRequest

UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(UTC).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-11-27T09:30:00.123456+00:00"}),
]
"""An aware datetime, written as ISO 8601 in UTC with an explicit ``+00:00``."""


def reject_lone_surrogates(value: object) -> object:
    """JSON can spell a lone UTF-16 surrogate (``"\\ud800"``), which is no character: no database stores it.

    Runs *before* the string validation (``UNICODE_ONLY``), so a field's
    lengths stay the string's own: "String should have at least 2
    characters", not "Value should have at least 2 items after validation".
    """
    if not isinstance(value, str):
        return value  # the string validation says what is wrong with it
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be Unicode text: it has a lone surrogate (an unpaired \\ud800-\\udfff escape)") from None
    return value


UNICODE_ONLY = BeforeValidator(reject_lone_surrogates)
"""Put after a field's ``Field(min_length=..., max_length=...)``: ``Annotated[str, Field(...), UNICODE_ONLY]``.
Lengths written after a validator are checked on its result, and counted in "items"."""

UnicodeText = Annotated[str, UNICODE_ONLY]
"""A string of Unicode characters: every string a request body brings in is one."""


def json_integer(value: object) -> object:
    """A JSON integer, which JSON Schema says ``7.0`` is too; never a string or a boolean (pydantic's lax
    mode would read ``true`` as 1 and ``"7"`` as 7, which the schema calls invalid)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


JSON_INTEGER = BeforeValidator(json_integer)
"""Put after the bounds: ``Annotated[int, Field(ge=..., le=...), JSON_INTEGER]``, for every integer of a body."""

# Character classes for the patterns that state a request field's rule in the OpenAPI schema (as
# ``json_schema_extra``: the domain rule enforces it, with a message that names the rule). Spelled alike in
# Python's re, Rust's regex and ECMAScript; tests/system/test_schemathesis.py checks pattern and rule agree.
CONTROL = r"\x00-\x1f\x7f-\x9f"
"""Unicode's control characters (category Cc)."""
SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""The whitespace that ``str.strip()`` removes, bar the control characters among it."""
CONTROL_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f\x85"
"""The control characters that ``str.strip()`` removes."""


def not_blank_pattern(*, forbidden: str) -> str:
    """A string with none of ``forbidden`` and something ``str.strip()`` keeps."""
    return f"^[^{forbidden}]*[^{forbidden}{SPACE}{CONTROL_SPACE}][^{forbidden}]*$"


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except NotAnEmailAddress as error:
        raise ValueError(f"not a valid email address: {error}") from None


Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}, examples=["dexter@example.com"]),
    UNICODE_ONLY,
    AfterValidator(_email),
]
"""An email address, checked by email-validator without DNS (``.test`` domains are fine)."""


class ResponseModel(BaseModel):
    """What the service answers: exactly these keys, every one always present, as the OpenAPI schema says."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class ErrorResponse(ResponseModel):
    detail: str


class ServerErrorResponse(ErrorResponse):
    request_id: str


ERROR_DESCRIPTIONS = {
    400: "Invalid or expired token",
    401: "Missing, invalid or expired credentials",
    403: "Authenticated, but not allowed",
    404: "Not found",
    409: "Conflict",
    412: "If-Match does not match the current ETag",
    413: "Request body over 1 MiB",
    415: "A Content-Type this operation does not take",
    429: "Too many failed attempts; see Retry-After",
    503: "A dependency (the database) is unavailable",
}


ERROR_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "Always `Bearer`",
            "required": True,
            "schema": {"type": "string", "const": "Bearer"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until the next attempt may succeed",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes an operation can answer, with the headers that come with them."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in status_codes:
        responses[code] = {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[code]}
        if code in ERROR_HEADERS:
            responses[code]["headers"] = ERROR_HEADERS[code]
    return responses


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


# Far past any real list; (MAX_PAGE - 1) * MAX_ITEMS_PER_PAGE still fits a 64-bit OFFSET, and the
# number itself a JavaScript client's (below 2**53). A bigger page used to be a 500 (integer overflow).
MAX_PAGE = 10**15


async def page_request(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    items_per_page: Annotated[int, Query(ge=1, le=MAX_ITEMS_PER_PAGE)] = DEFAULT_ITEMS_PER_PAGE,
) -> PageRequest:
    return PageRequest(page=page, items_per_page=items_per_page)


Pagination = Annotated[PageRequest, Depends(page_request)]


def inline_schema(model: type[BaseModel], *, mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` written in place, for an ``openapi_extra`` body or response
    (FastAPI only lists the models of declared parameters and return types among the components)."""
    schema = model.model_json_schema(mode=mode)
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/"):
                return resolve(definitions[node["$ref"].removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)
