"""Finding notes (SPEC §9): text folding, search terms, filters and sorts (pure Python).

A note matches a text search when every term occurs as a substring of its
title, its content or one of its tag names, all compared after NFKC
normalization and Unicode case folding (``fold``). Storage keeps each note's
folded text (``searchable_text``) next to the note, written in the same
transaction as every change to the title, content or tags, so a search
compares folded text with folded terms and nothing else: no collation, no
accent folding, no word boundaries (``제너레이터`` finds ``제너레이터를``).
"""

import enum
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from note.domain.errors import InvalidNoteInput
from note.domain.tag import check_tag_name

SEARCH_TEXT_MAX_LENGTH = 200
MAX_SEARCH_TERMS = 10
MAX_TAG_FILTERS = 10
# Between the title, the content and each tag name in the folded text. A term never holds one (terms are
# split on whitespace, and folding turns no other character into a line feed), so no term matches across
# two fields; and unlike NUL, SQLite's LIKE reads past it.
FIELD_SEPARATOR = "\n"


def fold(text: str) -> str:
    """NFKC, then Unicode case folding: ``STRASSE``, ``straße`` and ``Ｓｔｒａｓｓｅ`` all become ``strasse``.

    In this order because NFKC can make capitals (``ᴬ`` becomes ``A``); case folding makes none, and folding
    again changes nothing. Accents stay: ``é`` is not ``e`` (but a decomposed ``é`` is the precomposed one).
    """
    return unicodedata.normalize("NFKC", text).casefold()


def searchable_text(*, title: str, content: str, tags: Iterable[str]) -> str:
    """The folded text a note is searched in: title, content and tag names, one field a line."""
    return fold(FIELD_SEPARATOR.join([title, content, *tags]))


def check_search_text(text: str) -> str:
    """``q``: 1..200 characters with something besides whitespace, and at most 10 terms."""
    if not 1 <= len(text) <= SEARCH_TEXT_MAX_LENGTH:
        raise InvalidNoteInput(f"q must be 1 to {SEARCH_TEXT_MAX_LENGTH} characters")
    terms = text.split()
    if not terms:
        raise InvalidNoteInput("q must not be empty or only whitespace")
    if len(terms) > MAX_SEARCH_TERMS:
        raise InvalidNoteInput(f"q has {len(terms)} terms; at most {MAX_SEARCH_TERMS} are allowed")
    return text


def search_terms(text: str) -> tuple[str, ...]:
    """The folded terms of a checked ``q``, split on Unicode whitespace, each once, in first-seen order."""
    return tuple(dict.fromkeys(fold(term) for term in check_search_text(text).split()))


def check_tag_filters(names: Sequence[str]) -> Sequence[str]:
    if len(names) > MAX_TAG_FILTERS:
        raise InvalidNoteInput(f"at most {MAX_TAG_FILTERS} tag filters are allowed, {len(names)} were given")
    return names


def check_date_range(memo_from: date | None, memo_to: date | None) -> None:
    if memo_from is not None and memo_to is not None and memo_from > memo_to:
        raise InvalidNoteInput("from must not be after to")


class NoteSort(enum.StrEnum):
    """The orders of a note listing; ties are broken by id in the same direction."""

    CREATED_DESC = "-created_at"
    CREATED_ASC = "created_at"
    MEMO_DATE_DESC = "-memo_date"
    MEMO_DATE_ASC = "memo_date"
    UPDATED_DESC = "-updated_at"
    UPDATED_ASC = "updated_at"

    @property
    def field(self) -> str:
        """The note attribute sorted on: ``created_at``, ``memo_date`` or ``updated_at``."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True, slots=True)
class NoteSearch:
    """What a listing keeps (every condition at once) and its order. The default keeps every note.

    ``terms`` are folded (``search_terms``); ``tags`` are exact names, trimmed; ``memo_from`` and
    ``memo_to`` are inclusive bounds on ``memo_date``.
    """

    terms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    memo_from: date | None = None
    memo_to: date | None = None
    sort: NoteSort = NoteSort.CREATED_DESC

    @classmethod
    def parse(
        cls,
        *,
        q: str | None = None,
        tags: Sequence[str] = (),
        memo_from: date | None = None,
        memo_to: date | None = None,
        sort: NoteSort = NoteSort.CREATED_DESC,
    ) -> "NoteSearch":
        """From the caller's parameters, checked as SPEC §9 says; ``InvalidNoteInput`` names the rule broken."""
        check_date_range(memo_from, memo_to)
        return cls(
            terms=() if q is None else search_terms(q),
            tags=tuple(dict.fromkeys(name.strip() for name in check_tag_filters(tags))),
            memo_from=memo_from,
            memo_to=memo_to,
            sort=sort,
        )

    @property
    def impossible(self) -> bool:
        """True when no note can match: a tag filter names what no tag can be called (say ``a/b``), or a
        term holds a NUL, which no title, content or tag name does (and SQLite's LIKE would stop at)."""
        return any("\x00" in term for term in self.terms) or not all(_can_be_a_tag(name) for name in self.tags)


def _can_be_a_tag(name: str) -> bool:
    try:
        return check_tag_name(name) == name
    except InvalidNoteInput:
        return False


EVERY_NOTE = NoteSearch()
