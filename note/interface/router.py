"""HTTP routes of the note app: thin handlers around ``NoteService``."""

from typing import Annotated, Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Path, Query, Response, status

from note.interface.dependencies import IfMatch, NoteServiceDep, RememberingServiceDep, etag
from note.interface.remembering_schemas import (
    DueReviewsResponse,
    OnThisDayResponse,
    ReviewRequest,
    ReviewResponse,
    StatsResponse,
)
from note.interface.schemas import MemoDate, NoteCreate, NotePageResponse, NoteResponse, NoteUpdate, TagListResponse
from user.interface.dependencies import CurrentUser
from web.schemas import Pagination, error_responses

router = APIRouter()

NOTES = ["notes"]
REMEMBERING = ["remembering"]
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


@router.get(
    "/notes/tags/{tag_name}/notes",
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


# Before /notes/{note_id}, which would otherwise take "on-this-day" for a note id.
@router.get(
    "/notes/on-this-day",
    tags=REMEMBERING,
    responses=AUTHENTICATED,
    summary="The caller's notes of this month and day in earlier years, newest year first",
)
@inject
def on_this_day(
    *,
    day: Annotated[
        MemoDate | None, Query(alias="date", description="YYYYMMDD; default: today in the caller's timezone")
    ] = None,
    actor: CurrentUser,
    service: RememberingServiceDep,
) -> OnThisDayResponse:
    return OnThisDayResponse.from_domain(service.on_this_day(actor_id=actor.id, timezone=actor.timezone, day=day))


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


@router.post(
    "/notes/{note_id}/review",
    tags=REMEMBERING,
    responses={**AUTHENTICATED, **error_responses(404)},
    summary="Record a review of a note (again, hard, good, easy) and reschedule it from now",
)
@inject
def review_note(
    *, note_id: str, body: ReviewRequest, actor: CurrentUser, service: RememberingServiceDep
) -> ReviewResponse:
    return ReviewResponse.from_domain(service.review_note(actor_id=actor.id, note_id=note_id, rating=body.rating))


@router.get(
    "/review/due",
    tags=REMEMBERING,
    responses=AUTHENTICATED,
    summary="The caller's notes due for review now, most overdue first",
)
@inject
def due_reviews(
    *,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many notes")] = 10,
    actor: CurrentUser,
    service: RememberingServiceDep,
) -> DueReviewsResponse:
    return DueReviewsResponse.from_domain(service.due_reviews(actor_id=actor.id, limit=limit))


@router.get(
    "/stats",
    tags=REMEMBERING,
    responses=AUTHENTICATED,
    summary="Totals, writing streaks and the notes per day of the last 365 days",
)
@inject
def stats(actor: CurrentUser, service: RememberingServiceDep) -> StatsResponse:
    return StatsResponse.from_domain(service.stats(actor_id=actor.id, timezone=actor.timezone))
