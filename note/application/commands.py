"""Inputs of the note use cases that carry more than a few plain values.

A request schema builds them (``to_command()``); a field the use case passes on to the note is a
field here and one line where the command meets the entity (``to_note``, ``checked``/``apply_to``),
so no signature between the route and the entity changes for it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from note.domain.note import Note, check_content, check_memo_date, check_title, parse_memo_date
from note.domain.tag import normalize_tag_names

_Given = TypeVar("_Given")
_Converted = TypeVar("_Converted")


@dataclass(frozen=True, kw_only=True)
class NoteDraft:
    """A new note as its writer gave it (``POST /notes``); ``memo_date`` is ``YYYYMMDD``."""

    title: str
    content: str
    memo_date: str
    tags: Sequence[str] = ()

    def to_note(self, *, note_id: str, user_id: str, now: datetime) -> Note:
        """The note, every rule checked (``InvalidNoteInput``): the one place a draft becomes a ``Note``."""
        return Note.create(
            note_id=note_id,
            user_id=user_id,
            title=self.title,
            content=self.content,
            memo_date=parse_memo_date(self.memo_date),
            tags=list(self.tags),
            now=now,
        )


@dataclass(frozen=True, kw_only=True)
class NoteChanges:
    """A change to a note (``PUT /notes/{id}``): ``None`` leaves a field as it is; ``tags=[]`` clears."""

    title: str | None = None
    content: str | None = None
    memo_date: str | None = None
    tags: Sequence[str] | None = None

    def checked(self) -> "NoteChanges":
        """The same changes with every given field checked by the note's rules (``InvalidNoteInput``),
        the tags normalized: what the use case does before its transaction opens. A field without
        a rule passes as it is."""
        return replace(
            self,
            title=_given(self.title, check_title),
            content=_given(self.content, check_content),
            memo_date=_given(self.memo_date, check_memo_date),
            tags=_given(self.tags, normalize_tag_names),
        )

    def apply_to(self, note: Note, *, now: datetime) -> None:
        """Change ``note`` by these changes (``Note.update``: a new version, even if nothing changed)."""
        note.update(
            now=now,
            title=self.title,
            content=self.content,
            memo_date=_given(self.memo_date, parse_memo_date),
            tags=_given(self.tags, list),
        )


def _given(value: _Given | None, convert: Callable[[_Given], _Converted]) -> _Converted | None:
    return None if value is None else convert(value)


@dataclass(frozen=True, kw_only=True)
class NoteToImport:
    """One note of an import file, as the file gave it (checked by the use case, not here).

    ``location`` names it in the file, for the error that refuses it: ``("notes", 7)`` in a JSON
    export, ``("notes/20261127-01J….md",)`` in a Markdown zip.
    """

    location: tuple[str | int, ...]
    source_id: str | None
    title: str
    content: str
    memo_date: str
    tags: Sequence[str] = field(default_factory=tuple)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ImportOutcome:
    created: int
    skipped: int
