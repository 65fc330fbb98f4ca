"""Annotated dependencies of the note routes, the note's ETag in HTTP terms, and content negotiation.

A note's ETag is its version as a strong entity tag: ``"3"``. ``If-Match``
takes ``*`` (any current version: the note must merely exist) or a list of
entity tags. Since the tag names a version of the note, not the bytes of one
representation, a weak ``W/"3"`` (what a compressing proxy may turn ``"3"``
into) names the same version and matches too. A member that is not an entity
tag of ours never matches, so a malformed header answers 412, never a write.
"""

import re
from typing import Annotated

from fastapi import Depends, Header

from note.application.note_service import NoteService
from note.application.share_service import ShareService
from web.injection import Provided

NoteServiceDep = Annotated[NoteService, Depends(Provided["note_service"])]
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
