"""Inputs of the note use cases that carry more than a few plain values."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


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
