"""Annotated dependencies of the note routes: the services, a listing's search (SPEC §9), the note's
ETag in HTTP terms, and content negotiation.

A note's ETag is its version as a strong entity tag: ``"3"``. ``If-Match``
takes ``*`` (any current version: the note must merely exist) or a list of
entity tags. Since the tag names a version of the note, not the bytes of one
representation, a weak ``W/"3"`` (what a compressing proxy may turn ``"3"``
into) names the same version and matches too. A member that is not an entity
tag of ours never matches, so a malformed header answers 412, never a write.
"""

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, Field

from note.application.note_service import NoteService
from note.application.portability_service import PortabilityService
from note.application.share_service import ShareService
from note.domain.errors import InvalidNoteInput
from note.domain.note import parse_memo_date
from note.domain.search import (
    MAX_SEARCH_TERMS,
    MAX_TAG_FILTERS,
    SEARCH_TEXT_MAX_LENGTH,
    NoteSearch,
    NoteSort,
    check_date_range,
    check_search_text,
)
from note.interface.schemas import REAL_DATE_PATTERN, SEARCH_TEXT_PATTERN
from web.injection import Provided
from web.schemas import pydantic_rule

NoteServiceDep = Annotated[NoteService, Depends(Provided["note_service"])]
PortabilityServiceDep = Annotated[PortabilityService, Depends(Provided["portability_service"])]
ImportMaxBytes = Annotated[int, Depends(Provided["import_max_bytes"])]


def _date_bound(name: str) -> AfterValidator:
    """``YYYYMMDD`` naming a real day; the 422 names the parameter."""

    def check(text: str) -> str:
        try:
            parse_memo_date(text)
        except InvalidNoteInput:
            raise InvalidNoteInput(f"{name} must be a real calendar date written as YYYYMMDD") from None
        return text

    return AfterValidator(pydantic_rule(check))


def _day(text: str | None) -> date | None:
    return None if text is None else parse_memo_date(text)


# The constraints sit on the string itself, not on the optional around it, so OpenAPI puts the pattern where
# a client (and Schemathesis) reads it: on the string.
_SearchText = Annotated[
    str,
    Field(min_length=1, max_length=SEARCH_TEXT_MAX_LENGTH, json_schema_extra={"pattern": SEARCH_TEXT_PATTERN}),
    AfterValidator(pydantic_rule(check_search_text)),
]
SearchText = Annotated[
    _SearchText | None,
    Query(
        description=(
            f"Text search, 1..{SEARCH_TEXT_MAX_LENGTH} characters: split on whitespace into at most "
            f"{MAX_SEARCH_TERMS} terms; a note matches when every term is a substring of its title, its content "
            "or one of its tag names, compared after NFKC and Unicode case folding (Python finds PYTHON, straße "
            "finds STRASSE, 제너레이터 finds 제너레이터를). %, _, \\, * and quotes are literal. Empty or only "
            "whitespace: 422"
        ),
        examples=["제너레이터 python"],
    ),
]
TagFilters = Annotated[
    list[str],
    Query(
        alias="tag",
        max_length=MAX_TAG_FILTERS,
        description=(
            f"Repeatable, at most {MAX_TAG_FILTERS}: the note carries every one of these tags (exact names, "
            "trimmed); a name no tag can have matches nothing"
        ),
    ),
]


_REAL_DATE = Field(json_schema_extra={"pattern": REAL_DATE_PATTERN})
_DateFrom = Annotated[str, _REAL_DATE, _date_bound("from")]
_DateTo = Annotated[str, _REAL_DATE, _date_bound("to")]
DateFrom = Annotated[
    _DateFrom | None,
    Query(
        alias="from",
        description="YYYYMMDD: only notes whose memo_date is this day or later; after `to`: 422",
        examples=["20260101"],
    ),
]
DateTo = Annotated[
    _DateTo | None,
    Query(alias="to", description="YYYYMMDD: only notes whose memo_date is this day or earlier", examples=["20261231"]),
]
SortOrder = Annotated[
    NoteSort,
    Query(description="The order of the list, `-` for descending; ties are broken by id in the same direction"),
]


async def note_search(
    q: SearchText = None,
    tags: TagFilters = [],  # noqa: B006 - FastAPI copies a parameter's default for each request
    memo_from: DateFrom = None,
    memo_to: DateTo = None,
    sort: SortOrder = NoteSort.CREATED_DESC,
) -> NoteSearch:
    """The listing's search from its query parameters; ``from`` after ``to`` is a 422 like the others."""
    start, end = _day(memo_from), _day(memo_to)
    try:
        check_date_range(start, end)
    except InvalidNoteInput as error:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "from"), "msg": error.message, "input": memo_from}]
        ) from None
    return NoteSearch.parse(q=q, tags=tags, memo_from=start, memo_to=end, sort=sort)


NoteSearchQuery = Annotated[NoteSearch, Depends(note_search)]
"""The filters and sort of ``GET /notes``, checked: a bad one answers FastAPI's 422."""


ShareServiceDep = Annotated[ShareService, Depends(Provided["share_service"])]
PublicUrl = Annotated[str, Depends(Provided["public_url"])]
"""``PUBLIC_URL``, without a trailing slash."""

_ENTITY_TAG = re.compile(r'^(?:W/)?"([^"]*)"$')
_VERSION = re.compile(r"^[0-9]{1,18}$")


def etag(version: int) -> str:
    return f'"{version}"'


def versions_in_if_match(header: str) -> frozenset[int] | None:
    """The versions an ``If-Match`` value accepts; ``None`` for ``*`` (any)."""
    if header.strip() == "*":
        return None
    versions: set[int] = set()
    for member in header.split(","):
        match = _ENTITY_TAG.fullmatch(member.strip())
        if match and _VERSION.fullmatch(match.group(1)):
            versions.add(int(match.group(1)))
    return frozenset(versions)


async def if_match(
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The ETag of the version this change is based on, e.g. "3"; a mismatch answers 412',
        ),
    ] = None,
) -> frozenset[int] | None:
    return None if header is None else versions_in_if_match(header)


IfMatch = Annotated[frozenset[int] | None, Depends(if_match)]
"""``None``: no precondition. Otherwise the note's current version must be one of these."""


JSON = "application/json"
HTML = "text/html"


def accept_quality(accept: str, media_type: str) -> float:
    """The quality ``accept`` gives ``media_type`` (RFC 9110 §12.5.1): that of the most specific
    range that matches it (``type/subtype`` over ``type/*`` over ``*/*``); 0 when none does."""
    kind = media_type.split("/", 1)[0]
    best_specificity, quality = -1, 0.0
    for member in accept.split(","):
        media_range, *parameters = (part.strip() for part in member.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media_range.lower(), -1)
        if specificity > best_specificity:
            best_specificity, quality = specificity, _quality(parameters)
    return quality


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def prefers_json(accept: str | None) -> bool:
    """JSON only when ``Accept`` ranks it strictly above HTML; a tie, ``*/*`` or no header is HTML."""
    return accept is not None and accept_quality(accept, JSON) > accept_quality(accept, HTML)


async def wants_json(
    accept: Annotated[
        str | None,
        Header(description="JSON when it ranks application/json above text/html; otherwise an HTML page"),
    ] = None,
) -> bool:
    return prefers_json(accept)


WantsJson = Annotated[bool, Depends(wants_json)]
