"""Annotated dependencies of the note routes, and the note's ETag in HTTP terms.

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
from note.application.portability_service import PortabilityService
from web.injection import Provided

NoteServiceDep = Annotated[NoteService, Depends(Provided["note_service"])]
PortabilityServiceDep = Annotated[PortabilityService, Depends(Provided["portability_service"])]
ImportMaxBytes = Annotated[int, Depends(Provided["import_max_bytes"])]

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
