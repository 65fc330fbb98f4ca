"""Tag rules and the tag read model (pure Python).

Tags belong to their user. A name is stored trimmed, is 1..32 characters
after trimming, has no ``/`` and no control character, and compares
exactly: ``Study``, ``study`` and ``stüdy`` are three tags.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from note.domain.errors import InvalidNoteInput

TAG_NAME_MAX_LENGTH = 32
MAX_TAGS_PER_NOTE = 32


def has_control_character(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)


def check_tag_name(name: str) -> str:
    """The stored form of a tag name: trimmed and checked.

    Control characters are refused wherever they are, even at the ends: a
    tab or newline is an error in the name, not padding to trim away.
    """
    if has_control_character(name):
        raise InvalidNoteInput("a tag name must not contain control characters")
    trimmed = name.strip()
    if not 1 <= len(trimmed) <= TAG_NAME_MAX_LENGTH:
        raise InvalidNoteInput(f"a tag name must be 1 to {TAG_NAME_MAX_LENGTH} characters after trimming")
    if "/" in trimmed:
        raise InvalidNoteInput("a tag name must not contain '/'")
    return trimmed


def normalize_tag_names(names: Iterable[str]) -> list[str]:
    """Checked names in first-seen order, each once; at most ``MAX_TAGS_PER_NOTE``.

    Names are compared exactly after trimming, so a repeated name counts once
    toward the limit.
    """
    unique: dict[str, None] = {}
    for name in names:
        unique.setdefault(check_tag_name(name), None)
    if len(unique) > MAX_TAGS_PER_NOTE:
        raise InvalidNoteInput(f"a note has at most {MAX_TAGS_PER_NOTE} tags")
    return list(unique)


@dataclass(frozen=True, slots=True)
class Tag:
    """One of a user's tags and how many of that user's notes carry it."""

    name: str
    note_count: int


def by_name(tags: Iterable[Tag]) -> list[Tag]:
    """Tags ordered by name in code-point order, whatever a database collation says."""
    return sorted(tags, key=lambda tag: tag.name)
