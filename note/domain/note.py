"""The note entity and its value rules (pure Python)."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from note.domain.errors import InvalidNoteInput
from note.domain.tag import has_control_character, normalize_tag_names

TITLE_MIN_LENGTH = 1
TITLE_MAX_LENGTH = 64
CONTENT_MIN_LENGTH = 1
CONTENT_MAX_LENGTH = 20_000
MEMO_DATE_PATTERN = r"^[0-9]{8}$"
FIRST_VERSION = 1

_MEMO_DATE = re.compile(MEMO_DATE_PATTERN)


def check_title(title: str) -> str:
    """1..64 characters (code points), not blank, no control characters."""
    if not TITLE_MIN_LENGTH <= len(title) <= TITLE_MAX_LENGTH:
        raise InvalidNoteInput(f"title must be {TITLE_MIN_LENGTH} to {TITLE_MAX_LENGTH} characters")
    if not title.strip():
        raise InvalidNoteInput("title must not be blank")
    if has_control_character(title):
        raise InvalidNoteInput("title must not contain control characters")
    return title


def check_content(content: str) -> str:
    """1..20000 characters (code points), not blank, no NUL; newlines and tabs are fine."""
    if not CONTENT_MIN_LENGTH <= len(content) <= CONTENT_MAX_LENGTH:
        raise InvalidNoteInput(f"content must be {CONTENT_MIN_LENGTH} to {CONTENT_MAX_LENGTH} characters")
    if not content.strip():
        raise InvalidNoteInput("content must not be blank")
    if "\x00" in content:
        raise InvalidNoteInput("content must not contain NUL characters")
    return content


def parse_memo_date(text: str) -> date:
    """``YYYYMMDD`` (eight ASCII digits) naming a real calendar date."""
    if not _MEMO_DATE.fullmatch(text):
        raise InvalidNoteInput("memo_date must be a date written as YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InvalidNoteInput(f"memo_date {text} is not a real calendar date") from None


def check_memo_date(text: str) -> str:
    parse_memo_date(text)
    return text


def format_memo_date(value: date) -> str:
    # Not strftime("%Y..."): it drops the zero padding of years before 1000 on glibc.
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


@dataclass(kw_only=True)
class Note:
    id: str
    user_id: str
    title: str
    content: str
    memo_date: date
    # Names in the order the writer gave them, each once.
    tags: list[str] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    # Bumped by every change; clients see it as the ETag.
    version: int = FIRST_VERSION

    @classmethod
    def create(
        cls,
        *,
        note_id: str,
        user_id: str,
        title: str,
        content: str,
        memo_date: date,
        tags: list[str],
        now: datetime,
    ) -> "Note":
        return cls(
            id=note_id,
            user_id=user_id,
            title=check_title(title),
            content=check_content(content),
            memo_date=memo_date,
            tags=normalize_tag_names(tags),
            created_at=now,
            updated_at=now,
        )

    @classmethod
    def restore(
        cls,
        *,
        note_id: str,
        user_id: str,
        title: str,
        content: str,
        memo_date: date,
        tags: list[str],
        created_at: datetime,
        updated_at: datetime,
    ) -> "Note":
        """A note brought back from an export: the rules of ``create``, its own timestamps."""
        note = cls.create(
            note_id=note_id,
            user_id=user_id,
            title=title,
            content=content,
            memo_date=memo_date,
            tags=tags,
            now=created_at,
        )
        note.updated_at = updated_at
        return note

    def belongs_to(self, user_id: str) -> bool:
        return self.user_id == user_id

    def update(
        self,
        *,
        now: datetime,
        title: str | None = None,
        content: str | None = None,
        memo_date: date | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Change what is given (``None`` leaves a field as it is; ``tags=[]`` clears).

        Every update is a new version, even one that changes nothing, so two
        writers holding the same version can never both succeed.
        """
        new_title = self.title if title is None else check_title(title)
        new_content = self.content if content is None else check_content(content)
        new_tags = self.tags if tags is None else normalize_tag_names(tags)
        self.title = new_title
        self.content = new_content
        self.memo_date = self.memo_date if memo_date is None else memo_date
        self.tags = list(new_tags)
        self.version += 1
        self.updated_at = now

    def rename_tag(self, old: str, new: str, *, now: datetime) -> None:
        """``old`` becomes ``new`` where it stands; carrying both already, the note keeps the first of the two."""
        self.update(now=now, tags=[new if name == old else name for name in self.tags])

    def remove_tag(self, name: str, *, now: datetime) -> None:
        self.update(now=now, tags=[kept for kept in self.tags if kept != name])

    def tags_dropped_since(self, previous_tags: list[str]) -> list[str]:
        """Names in ``previous_tags`` that this note no longer carries."""
        current = set(self.tags)
        return [name for name in previous_tags if name not in current]
