"""HTTP routes of the note app: thin handlers around ``NoteService``."""

from typing import Annotated, Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Path, Response, status

from note.interface.dependencies import IfMatch, NoteServiceDep, etag
from note.interface.schemas import NoteCreate, NotePageResponse, NoteResponse, NoteUpdate, TagListResponse
from user.interface.dependencies import CurrentUser
from web.schemas import Pagination, error_responses

router = APIRouter()

NOTES = ["notes"]
AUTHENTICATED = error_responses(401, 503)
# Writes also answer 409 in the rare case that concurrent writes keep aborting them (see NoteWriteConflict).
ETAG = {
    "ETag": {
        "description": 'The note\'s version as a strong entity tag, e.g. "3"; send it back in If-Match',
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}
LOCATION = {"Location": {"description": "/notes/{id} of the new note", "required": True, "schema": {"type": "string"}}}


def _with_headers(code: int, headers: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {code: {"headers": headers}}


@router.post(
    "/notes",
    status_code=status.HTTP_201_CREATED,
    tags=NOTES,
    responses={**_with_headers(201, {**LOCATION, **ETAG}), **AUTHENTICATED, **error_responses(409, 413)},
    summary="Write a note",
)
@inject
def create_note(*, body: NoteCreate, actor: CurrentUser, response: Response, service: NoteServiceDep) -> NoteResponse:
    note = service.create_note(
        actor_id=actor.id,
        title=body.title,
        content=body.content,
        memo_date=body.memo_date,
        tags=body.tags or [],
    )
    response.headers["Location"] = f"/notes/{note.id}"
    response.headers["ETag"] = etag(note.version)
    return NoteResponse.from_domain(note)


@router.get("/notes", tags=NOTES, responses=AUTHENTICATED, summary="The caller's notes, newest first")
@inject
def list_notes(*, actor: CurrentUser, page: Pagination, service: NoteServiceDep) -> NotePageResponse:
    return NotePageResponse.from_domain(service.list_notes(actor_id=actor.id, page=page))


# ``:path``: Starlette matches routes on the decoded path, so ``/notes/tags/a%2Fb/notes`` is
# ``/notes/tags/a/b/notes``. A tag never has a ``/`` (SPEC), so that is an unknown tag, with no notes;
# without ``:path`` no route would match it and the answer would be a 404 the schema does not declare.
@router.get(
    "/notes/tags/{tag_name:path}/notes",
    tags=NOTES,
    responses=AUTHENTICATED,
    summary="The caller's notes with a tag, newest first (an unknown tag has none)",
)
@inject
def list_notes_by_tag(
    *,
    tag_name: Annotated[str, Path(description="Compared exactly, after trimming")],
    actor: CurrentUser,
    page: Pagination,
    service: NoteServiceDep,
) -> NotePageResponse:
    return NotePageResponse.from_domain(service.list_notes_by_tag(actor_id=actor.id, tag_name=tag_name, page=page))


@router.get(
    "/notes/{note_id}",
    tags=NOTES,
    responses={**_with_headers(200, ETAG), **AUTHENTICATED, **error_responses(404)},
    summary="One of the caller's notes",
)
@inject
def get_note(*, note_id: str, actor: CurrentUser, response: Response, service: NoteServiceDep) -> NoteResponse:
    note = service.get_note(actor_id=actor.id, note_id=note_id)
    response.headers["ETag"] = etag(note.version)
    return NoteResponse.from_domain(note)


@router.put(
    "/notes/{note_id}",
    tags=NOTES,
    responses={**_with_headers(200, ETAG), **AUTHENTICATED, **error_responses(404, 409, 412, 413)},
    summary="Change a note: omitted or null fields stay; tags: [] clears; If-Match guards against lost updates",
)
@inject
def update_note(
    *,
    note_id: str,
    body: NoteUpdate,
    actor: CurrentUser,
    if_match: IfMatch,
    response: Response,
    service: NoteServiceDep,
) -> NoteResponse:
    note = service.update_note(
        actor_id=actor.id,
        note_id=note_id,
        if_match=if_match,
        title=body.title,
        content=body.content,
        memo_date=body.memo_date,
        tags=body.tags,
    )
    response.headers["ETag"] = etag(note.version)
    return NoteResponse.from_domain(note)


@router.delete(
    "/notes/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=NOTES,
    responses={**AUTHENTICATED, **error_responses(404, 409, 412)},
    summary="Delete a note (If-Match, when sent, must match)",
)
@inject
def delete_note(*, note_id: str, actor: CurrentUser, if_match: IfMatch, service: NoteServiceDep) -> Response:
    service.delete_note(actor_id=actor.id, note_id=note_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/tags",
    tags=["tags"],
    responses=AUTHENTICATED,
    summary="The caller's tags with how many notes carry each, by name in code-point order",
)
@inject
def list_tags(actor: CurrentUser, service: NoteServiceDep) -> TagListResponse:
    return TagListResponse.from_domain(service.list_tags(actor_id=actor.id))
