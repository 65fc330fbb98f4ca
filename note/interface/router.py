"""HTTP routes of the note app: thin handlers around ``NoteService`` and ``ShareService``."""

from collections.abc import Iterator
from datetime import datetime
from email.message import Message
from enum import StrEnum
from typing import Annotated, Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

import web.paths  # noqa: F401  (registers the {name:text} convertor the tag route uses)
from common.errors import UnsupportedMediaType
from note.application.commands import NoteToImport
from note.interface.dependencies import (
    IfMatch,
    ImportMaxBytes,
    NoteSearchQuery,
    NoteServiceDep,
    PortabilityServiceDep,
    PublicUrl,
    RememberingServiceDep,
    ShareServiceDep,
    WantsJson,
    etag,
)
from note.interface.note_files import json_export, markdown_zip_export, read_json_import, read_markdown_zip
from note.interface.pages import SHARED_PAGE_HEADERS, shared_note_page
from note.interface.remembering_schemas import (
    DueReviewsResponse,
    OnThisDayResponse,
    ReviewRequest,
    ReviewResponse,
    StatsResponse,
)
from note.interface.schemas import (
    ImportResponse,
    MemoDate,
    NoteCreate,
    NoteExport,
    NoteImport,
    NotePageResponse,
    NoteResponse,
    NoteUpdate,
    ShareCreate,
    SharedNoteResponse,
    ShareResponse,
    TagListResponse,
    TagRename,
    TagResponse,
)
from user.interface.dependencies import CurrentUser
from web.routing import ThreadedRoute, on_event_loop
from web.schemas import Pagination, error_responses, inline_schema

router = APIRouter(route_class=ThreadedRoute)

# The one route whose body limit is IMPORT_MAX_BYTES, not 1 MiB (main.py tells the middleware).
IMPORT_ROUTE = ("POST", "/notes/import")
JSON = "application/json"
ZIP = "application/zip"
BINARY = {"type": "string", "format": "binary"}

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
@on_event_loop
@inject
def create_note(*, body: NoteCreate, actor: CurrentUser, response: Response, service: NoteServiceDep) -> NoteResponse:
    note = service.create_note(actor_id=actor.id, draft=body.to_command())
    response.headers["Location"] = f"/notes/{note.id}"
    response.headers["ETag"] = etag(note.version)
    return NoteResponse.from_domain(note)


@router.get(
    "/notes",
    tags=NOTES,
    responses=AUTHENTICATED,
    summary="The caller's notes, newest first; searched, filtered and sorted by the query (all conditions at once)",
)
@on_event_loop
@inject
def list_notes(
    *, actor: CurrentUser, page: Pagination, search: NoteSearchQuery, service: NoteServiceDep
) -> NotePageResponse:
    return NotePageResponse.from_domain(service.list_notes(actor_id=actor.id, page=page, search=search))


# ``:text`` (web/paths.py): Starlette matches routes on the decoded path, so ``/notes/tags/a%2Fb/notes``
# is ``/notes/tags/a/b/notes``, and ``a%0A`` holds a newline. A tag never has a ``/`` or a control
# character (SPEC), so either is an unknown tag, with no notes, not a 404 the schema does not declare.
@router.get(
    "/notes/tags/{tag_name:text}/notes",
    tags=NOTES,
    responses=AUTHENTICATED,
    summary="The caller's notes with a tag, newest first (an unknown tag has none)",
)
@on_event_loop
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
@on_event_loop
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


class ExportFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"


CONTENT_DISPOSITION = {
    "Content-Disposition": {
        "description": 'attachment; filename="til-notes-YYYYMMDD.json" (or .zip), the day of the export in UTC',
        "required": True,
        "schema": {"type": "string", "pattern": '^attachment; filename="til-notes-[0-9]{8}\\.(json|zip)"$'},
    }
}


@router.get(
    "/notes/export",
    tags=NOTES,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The caller's notes, oldest created first, streamed",
            "headers": CONTENT_DISPOSITION,
            "content": {
                JSON: {"schema": inline_schema(NoteExport, mode="serialization")},
                ZIP: {"schema": BINARY},
            },
        },
        **AUTHENTICATED,
    },
    summary="Download every note: JSON, or a zip of Markdown files with YAML front matter",
)
@inject
def export_notes(
    *,
    actor: CurrentUser,
    service: PortabilityServiceDep,
    format: Annotated[ExportFormat, Query(description="json (default) or markdown (a zip)")] = ExportFormat.JSON,
) -> StreamingResponse:
    exported_at = service.exported_at()
    notes = service.export_notes(actor_id=actor.id)
    body: Iterator[bytes]
    if format is ExportFormat.JSON:
        body, media_type, extension = json_export(notes, exported_at=exported_at), JSON, "json"
    else:
        body, media_type, extension = markdown_zip_export(notes, exported_at=exported_at), ZIP, "zip"
    disposition = f'attachment; filename="{_export_file_name(exported_at)}.{extension}"'
    return StreamingResponse(body, media_type=media_type, headers={"Content-Disposition": disposition})


def _export_file_name(exported_at: datetime) -> str:
    return f"til-notes-{exported_at.strftime('%Y%m%d')}"


IMPORT_BODY = {
    "required": True,
    "description": "A JSON export (application/json) or a Markdown zip export (application/zip)",
    "content": {
        JSON: {"schema": inline_schema(NoteImport, mode="validation")},
        ZIP: {"schema": BINARY},
    },
}


@router.post(
    "/notes/import",
    tags=NOTES,
    responses={
        **AUTHENTICATED,
        **error_responses(409, 413, 415),
        413: {**error_responses(413)[413], "description": "Body over IMPORT_MAX_BYTES, or a zip that unpacks past it"},
        422: {
            "description": "A note breaks a rule of POST /notes (loc names it), or the body is not an export",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
        },
    },
    openapi_extra={"requestBody": IMPORT_BODY},
    summary="Bring notes back from an export, all or nothing; notes already there (by id) are skipped",
)
@inject
async def import_notes(
    *, request: Request, actor: CurrentUser, service: PortabilityServiceDep, max_bytes: ImportMaxBytes
) -> ImportResponse:
    media_type = _media_type(request)
    if media_type not in (JSON, ZIP):
        raise UnsupportedMediaType(f"send {JSON} (a JSON export) or {ZIP} (a Markdown export)")
    body = await request.body()
    notes: list[NoteToImport]
    if media_type == JSON:
        notes = await run_in_threadpool(read_json_import, body)
    else:
        notes = await run_in_threadpool(read_markdown_zip, body, max_bytes=max_bytes)
    outcome = await run_in_threadpool(lambda: service.import_notes(actor_id=actor.id, notes=notes))
    return ImportResponse.from_domain(outcome)


def _media_type(request: Request) -> str:
    """The body's media type, lower-case and without parameters (``charset``); empty when not given."""
    header = request.headers.get("content-type")
    if not header:
        return ""
    message = Message()
    message["content-type"] = header
    return message.get_content_type()


@router.get(
    "/notes/{note_id}",
    tags=NOTES,
    responses={**_with_headers(200, ETAG), **AUTHENTICATED, **error_responses(404)},
    summary="One of the caller's notes",
)
@on_event_loop
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
@on_event_loop
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
    note = service.update_note(actor_id=actor.id, note_id=note_id, changes=body.to_command(), if_match=if_match)
    response.headers["ETag"] = etag(note.version)
    return NoteResponse.from_domain(note)


@router.delete(
    "/notes/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=NOTES,
    responses={**AUTHENTICATED, **error_responses(404, 409, 412)},
    summary="Delete a note (If-Match, when sent, must match)",
)
@on_event_loop
@inject
def delete_note(*, note_id: str, actor: CurrentUser, if_match: IfMatch, service: NoteServiceDep) -> Response:
    service.delete_note(actor_id=actor.id, note_id=note_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/tags/{tag_name}",
    tags=["tags"],
    responses={**AUTHENTICATED, **error_responses(404, 409)},
    summary="Rename a tag; onto a name the caller already has, the two merge",
)
@on_event_loop
@inject
def rename_tag(
    *,
    tag_name: Annotated[str, Path(description="Compared exactly, after trimming")],
    body: TagRename,
    actor: CurrentUser,
    service: NoteServiceDep,
) -> TagResponse:
    return TagResponse.from_domain(service.rename_tag(actor_id=actor.id, tag_name=tag_name, new_name=body.name))


@router.delete(
    "/tags/{tag_name}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["tags"],
    responses={**AUTHENTICATED, **error_responses(404, 409)},
    summary="Take a tag off every note that carries it; the notes stay",
)
@on_event_loop
@inject
def delete_tag(
    *,
    tag_name: Annotated[str, Path(description="Compared exactly, after trimming")],
    actor: CurrentUser,
    service: NoteServiceDep,
) -> Response:
    service.delete_tag(actor_id=actor.id, tag_name=tag_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/tags",
    tags=["tags"],
    responses=AUTHENTICATED,
    summary="The caller's tags with how many notes carry each, by name in code-point order",
)
@on_event_loop
@inject
def list_tags(actor: CurrentUser, service: NoteServiceDep) -> TagListResponse:
    return TagListResponse.from_domain(service.list_tags(actor_id=actor.id))


@router.post(
    "/notes/{note_id}/review",
    tags=REMEMBERING,
    responses={**AUTHENTICATED, **error_responses(404)},
    summary="Record a review of a note (again, hard, good, easy) and reschedule it from now",
)
@on_event_loop
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
@on_event_loop
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
@on_event_loop
@inject
def stats(actor: CurrentUser, service: RememberingServiceDep) -> StatsResponse:
    return StatsResponse.from_domain(service.stats(actor_id=actor.id, timezone=actor.timezone))


# Sharing (SPEC §13): the owner's routes, and the anonymous read of a link.

SHARING = ["sharing"]
# Every answer of a link is "as it is now" and may be revoked at any moment: nothing keeps a copy.
SHARED_HEADERS = {**SHARED_PAGE_HEADERS, "Cache-Control": "no-store", "Vary": "Accept"}
SHARED_HEADERS_DOC = {
    name: {"description": f"Always `{value}`", "required": True, "schema": {"type": "string", "const": value}}
    for name, value in SHARED_HEADERS.items()
    if name != "Vary"
} | {
    # Other middleware (compression, CORS) may add their own names to the list.
    "Vary": {
        "description": "Names `Accept`",
        "required": True,
        "schema": {"type": "string", "pattern": "(^|[ ,])Accept($|[ ,])"},
    }
}


@router.put(
    "/notes/{note_id}/share",
    tags=SHARING,
    responses={**AUTHENTICATED, **error_responses(404, 409, 413)},
    summary="Make a public link to the note; a new link replaces the earlier one, which stops working",
)
@on_event_loop
@inject
def share_note(
    *,
    note_id: str,
    actor: CurrentUser,
    service: ShareServiceDep,
    public_url: PublicUrl,
    body: ShareCreate | None = None,
) -> ShareResponse:
    expires_in_days = None if body is None else body.expires_in_days
    share = service.share_note(actor_id=actor.id, note_id=note_id, expires_in_days=expires_in_days)
    return ShareResponse.from_domain(share, public_url=public_url)


@router.get(
    "/notes/{note_id}/share",
    tags=SHARING,
    responses={**AUTHENTICATED, **error_responses(404)},
    summary="The note's public link (404 when it is not shared)",
)
@on_event_loop
@inject
def get_share(*, note_id: str, actor: CurrentUser, service: ShareServiceDep, public_url: PublicUrl) -> ShareResponse:
    return ShareResponse.from_domain(service.get_share(actor_id=actor.id, note_id=note_id), public_url=public_url)


@router.delete(
    "/notes/{note_id}/share",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=SHARING,
    responses={**AUTHENTICATED, **error_responses(404, 409)},
    summary="Remove the note's public link: it stops working (404 when it is not shared)",
)
@on_event_loop
@inject
def unshare_note(*, note_id: str, actor: CurrentUser, service: ShareServiceDep) -> Response:
    service.unshare_note(actor_id=actor.id, note_id=note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/shared/{token}",
    tags=SHARING,
    response_model=SharedNoteResponse,
    responses={
        200: {
            "description": "The note as it is now: JSON when Accept ranks application/json above text/html, "
            "otherwise an HTML page",
            "headers": SHARED_HEADERS_DOC,
            "content": {HTMLResponse.media_type: {"schema": {"type": "string"}}},
        },
        **error_responses(404, 503),
    },
    summary="Read a shared note (anyone with the link); the same 404 for every link that does not work",
)
@inject
def read_shared_note(
    *,
    token: Annotated[str, Path(description="The token of the link")],
    wants_json: WantsJson,
    service: ShareServiceDep,
) -> Response:
    note = service.read_shared_note(token=token)
    if wants_json:
        return JSONResponse(SharedNoteResponse.from_domain(note).model_dump(mode="json"), headers=SHARED_HEADERS)
    return HTMLResponse(shared_note_page(note), headers=SHARED_HEADERS)
