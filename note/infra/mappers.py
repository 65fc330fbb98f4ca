"""The only code that turns note and tag rows into entities and back."""

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Row

from note.domain.note import Note
from note.domain.review import ReviewSchedule, ReviewState
from note.domain.search import searchable_text
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag
from note.infra.db_models import NoteRow


def note_from_row(row: NoteRow | Row[Any], tags: Sequence[str]) -> Note:
    """From an ORM row or a Core row of the ``notes`` table (same attribute names)."""
    return Note(
        id=row.id,
        user_id=row.user_id,
        title=row.title,
        content=row.content,
        memo_date=row.memo_date,
        tags=list(tags),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def note_row_values(note: Note) -> dict[str, Any]:
    """Every column of a new note's row."""
    return {"id": note.id, "user_id": note.user_id, "created_at": note.created_at, **note_values(note)}


def note_values(note: Note) -> dict[str, Any]:
    """The columns a change to a note writes."""
    return {
        "title": note.title,
        "content": note.content,
        "memo_date": note.memo_date,
        "version": note.version,
        "updated_at": note.updated_at,
        "search_text": note_search_text(note),
    }


def note_search_text(note: Note) -> str:
    """The folded text the ``search_text`` column holds for ``note``."""
    return searchable_text(title=note.title, content=note.content, tags=note.tags)


def note_tag_links(note: Note, tag_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """``note_tags`` rows for ``note``, given the ids of its user's tags by name."""
    return [
        {"note_id": note.id, "tag_id": tag_ids[name], "position": position, "note_created_at": note.created_at}
        for position, name in enumerate(note.tags)
    ]


def tag_from_row(name: str, note_count: int) -> Tag:
    return Tag(name=name, note_count=note_count)


def tag_names(tag_list: str | None) -> list[str]:
    """A note's tag names in its order, from the JSON ``[[position, name], ...]`` a page query aggregates."""
    if not tag_list:
        return []
    return [name for _, name in sorted(orjson.loads(tag_list))]


def tag_ids_by_name(tag_list: str | None) -> dict[str, str]:
    """A note's tags as ``{name: id}`` in its order, from the JSON ``[[position, name, id], ...]``."""
    if not tag_list:
        return {}
    return {name: tag_id for _, name, tag_id in sorted(orjson.loads(tag_list))}


def schedule_from_row(row: Row[Any]) -> ReviewSchedule:
    """From a Core row carrying the ``review_schedules`` columns (``note_id`` may be absent: ``id`` of the note)."""
    mapping = row._mapping
    return ReviewSchedule(
        note_id=mapping.get("note_id", mapping.get("id")),
        due_at=row.due_at,
        state=ReviewState(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        reps=row.reps,
        lapses=row.lapses,
        last_reviewed_at=row.last_reviewed_at,
    )


def schedule_values(schedule: ReviewSchedule) -> dict[str, Any]:
    """Every column of a schedule's row."""
    return {
        "note_id": schedule.note_id,
        "due_at": schedule.due_at,
        "state": schedule.state.value,
        "step": schedule.step,
        "stability": schedule.stability,
        "difficulty": schedule.difficulty,
        "reps": schedule.reps,
        "lapses": schedule.lapses,
        "last_reviewed_at": schedule.last_reviewed_at,
    }


def share_row_values(share: Share, *, sealed_token: str) -> dict[str, Any]:
    """Every column of a share's row: the token only as its hash and sealed."""
    return {
        "note_id": share.note_id,
        "token_hash": share.token_hash,
        "sealed_token": sealed_token,
        "created_at": share.created_at,
        "expires_at": share.expires_at,
    }


def share_from_row(row: Row[Any], *, token: str) -> Share:
    return Share(note_id=row.note_id, token=token, created_at=row.created_at, expires_at=row.expires_at)


def shared_note_from_row(row: Row[Any]) -> SharedNote:
    """From the shared-note lookup's row: the note's columns, ``author`` and ``tag_list``."""
    return SharedNote(
        title=row.title,
        content=row.content,
        memo_date=row.memo_date,
        tags=tag_names(row.tag_list),
        author=row.author,
        updated_at=row.updated_at,
    )
