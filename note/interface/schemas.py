"""Request and response models of the note and tag routes."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from common.pagination import Page
from note.application.commands import ImportOutcome, NoteChanges, NoteDraft, NoteToImport
from note.domain.note import (
    CONTENT_MAX_LENGTH,
    CONTENT_MIN_LENGTH,
    TITLE_MAX_LENGTH,
    TITLE_MIN_LENGTH,
    Note,
    check_content,
    check_memo_date,
    check_title,
    format_memo_date,
)
from note.domain.search import MAX_SEARCH_TERMS
from note.domain.share import EXPIRES_IN_DAYS_MAX, EXPIRES_IN_DAYS_MIN, Share, SharedNote
from note.domain.tag import MAX_TAGS_PER_NOTE, TAG_NAME_MAX_LENGTH, Tag, check_tag_name, normalize_tag_names
from web.schemas import (
    CONTROL,
    CONTROL_SPACE,
    JSON_INTEGER,
    SPACE,
    UNICODE_ONLY,
    ResponseModel,
    UnicodeText,
    UtcTimestamp,
    not_blank_pattern,
    pydantic_rule,
)

# YYYYMMDD naming a real day of the years 0001..9999 (what Python's date accepts), leap years included.
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_AND_DAY = (
    "(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
REAL_DATE_PATTERN = f"^(?:{_YEAR}{_MONTH_AND_DAY}|{_LEAP_YEAR}0229)$"
# Whitespace around the name is trimmed; what is left has no control character and no '/'.
_TAG_CHARACTER = f"[^{CONTROL}/]"
_TAG_END = f"[^{CONTROL}{SPACE}/]"
TAG_NAME_PATTERN = f"^[{SPACE}]*{_TAG_END}(?:{_TAG_CHARACTER}{{0,{TAG_NAME_MAX_LENGTH - 2}}}{_TAG_END})?[{SPACE}]*$"
# q: something besides whitespace, in at most MAX_SEARCH_TERMS runs (terms) split by whitespace, i.e. by what
# str.split() splits on.
_WHITESPACE = f"{SPACE}{CONTROL_SPACE}"
_GAP, _TERM = f"[{_WHITESPACE}]", f"[^{_WHITESPACE}]"
SEARCH_TEXT_PATTERN = f"^{_GAP}*{_TERM}+(?:{_GAP}+{_TERM}+){{0,{MAX_SEARCH_TERMS - 1}}}{_GAP}*$"

Title = Annotated[
    str,
    Field(
        min_length=TITLE_MIN_LENGTH,
        max_length=TITLE_MAX_LENGTH,
        json_schema_extra={"pattern": not_blank_pattern(forbidden=CONTROL)},
        description="Not blank, and no control characters",
        examples=["SQLAlchemy's select() in 2.0"],
    ),
    UNICODE_ONLY,
    AfterValidator(pydantic_rule(check_title)),
]
Content = Annotated[
    str,
    Field(
        min_length=CONTENT_MIN_LENGTH,
        max_length=CONTENT_MAX_LENGTH,
        json_schema_extra={"pattern": not_blank_pattern(forbidden=r"\x00")},
        description="Not blank, and no NUL; newlines and tabs are fine",
        examples=["select(User).where(...)"],
    ),
    UNICODE_ONLY,
    AfterValidator(pydantic_rule(check_content)),
]
MemoDate = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": REAL_DATE_PATTERN},
        description="The day of the learning, as YYYYMMDD; must be a real calendar date",
        examples=["20261127"],
    ),
    AfterValidator(pydantic_rule(check_memo_date)),
]
TagName = Annotated[
    UnicodeText,
    Field(
        json_schema_extra={"pattern": TAG_NAME_PATTERN},
        description=(
            f"Stored trimmed; 1..{TAG_NAME_MAX_LENGTH} characters after trimming; no '/' and no control "
            "characters; compared exactly (Study, study and stüdy are three tags)"
        ),
        examples=["python"],
    ),
    AfterValidator(pydantic_rule(check_tag_name)),
]
TagNames = Annotated[
    list[TagName],
    Field(description=f"At most {MAX_TAGS_PER_NOTE} names; a repeated name counts once, the first keeps its place"),
    AfterValidator(pydantic_rule(normalize_tag_names)),
]


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "오늘 배운 것 🎉",
                    "content": "FastAPI dependencies are resolved per request",
                    "memo_date": "20261127",
                    "tags": ["python", "fastapi"],
                }
            ]
        }
    )

    title: Title
    content: Content
    memo_date: MemoDate
    tags: TagNames | None = Field(default=None, description="No tags when omitted or null")

    def to_command(self) -> NoteDraft:
        return NoteDraft(title=self.title, content=self.content, memo_date=self.memo_date, tags=self.tags or [])


class NoteUpdate(BaseModel):
    """Every field is optional: omitted or ``null`` leaves it as it is; ``tags: []`` clears the tags."""

    title: Title | None = None
    content: Content | None = None
    memo_date: MemoDate | None = None
    tags: TagNames | None = None

    def to_command(self) -> NoteChanges:
        return NoteChanges(title=self.title, content=self.content, memo_date=self.memo_date, tags=self.tags)


def _note_fields(note: Note) -> dict[str, Any]:
    """What a note shows of itself, in a response and in an export (which leaves out ``user_id``)."""
    return {
        "id": note.id,
        "title": note.title,
        "content": note.content,
        "memo_date": format_memo_date(note.memo_date),
        "tags": list(note.tags),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


class NoteResponse(ResponseModel):
    id: str
    user_id: str
    title: str
    content: str
    memo_date: str = Field(description="YYYYMMDD", examples=["20261127"])
    tags: list[str]
    created_at: UtcTimestamp
    updated_at: UtcTimestamp

    @classmethod
    def from_domain(cls, note: Note) -> Self:
        return cls(user_id=note.user_id, **_note_fields(note))


class NotePageResponse(ResponseModel):
    total_count: int
    page: int
    notes: list[NoteResponse]

    @classmethod
    def from_domain(cls, page: Page[Note]) -> Self:
        return cls(
            total_count=page.total_count,
            page=page.page,
            notes=[NoteResponse.from_domain(note) for note in page.items],
        )


class TagResponse(ResponseModel):
    name: str
    note_count: int

    @classmethod
    def from_domain(cls, tag: Tag) -> Self:
        return cls(name=tag.name, note_count=tag.note_count)


class TagListResponse(ResponseModel):
    tags: list[TagResponse] = Field(description="By name, in code-point order")

    @classmethod
    def from_domain(cls, tags: list[Tag]) -> Self:
        return cls(tags=[TagResponse.from_domain(tag) for tag in tags])


class TagRename(BaseModel):
    """The tag's new name; a tag of that name already there merges with it."""

    name: TagName


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a moment of the years 1 to 9999 in UTC") from None


ImportedTimestamp = Annotated[
    AwareDatetime,
    AfterValidator(_in_utc),
    Field(description="ISO 8601 with an offset; kept as given", examples=["2026-11-27T09:30:00.123456+00:00"]),
]


class ImportedNote(BaseModel):
    """One note of an export, checked like ``POST /notes``. Other keys (``user_id``) are ignored.

    Strict, so a value is taken only in the type the schema states (no ``0`` for a timestamp).
    """

    model_config = ConfigDict(strict=True)

    id: UnicodeText | None = Field(
        default=None,
        description="Kept when it is a ULID nobody uses; the caller's own (or already imported) id skips the note",
    )
    title: Title
    content: Content
    memo_date: MemoDate
    tags: TagNames | None = Field(default=None, description="In the note's order; none when omitted or null")
    created_at: ImportedTimestamp | None = Field(default=None, description="Now when omitted")
    updated_at: ImportedTimestamp | None = Field(default=None, description="created_at when omitted")

    def to_command(self, location: tuple[str | int, ...]) -> NoteToImport:
        return NoteToImport(
            location=location,
            source_id=self.id,
            title=self.title,
            content=self.content,
            memo_date=self.memo_date,
            tags=self.tags or [],
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class NoteImport(BaseModel):
    """A JSON export (``GET /notes/export``) as it was written, or any file of the same shape."""

    model_config = ConfigDict(strict=True)

    format: Literal["til-notes"] | None = None
    # Not Literal[1]: in Python, True == 1, and a boolean is no version.
    version: Annotated[int, Field(strict=True, ge=1, le=1)] | None = None
    notes: list[ImportedNote] = Field(description="At most 100 000 notes")

    def to_commands(self) -> list[NoteToImport]:
        return [note.to_command(("notes", index)) for index, note in enumerate(self.notes)]


class ImportResponse(ResponseModel):
    created: int = Field(description="Notes written")
    skipped: int = Field(description="Notes the caller already had (by id), or already imported")

    @classmethod
    def from_domain(cls, outcome: ImportOutcome) -> Self:
        return cls(created=outcome.created, skipped=outcome.skipped)


class ExportedNote(ResponseModel):
    id: str
    title: str
    content: str
    memo_date: str = Field(description="YYYYMMDD", examples=["20261127"])
    tags: list[str]
    created_at: UtcTimestamp
    updated_at: UtcTimestamp

    @classmethod
    def from_domain(cls, note: Note) -> Self:
        return cls(**_note_fields(note))


class NoteExport(ResponseModel):
    """What ``GET /notes/export?format=json`` streams (for the OpenAPI document: it is written piece by piece)."""

    format: Literal["til-notes"]
    version: Literal[1]
    exported_at: UtcTimestamp
    notes: list[ExportedNote] = Field(description="Oldest created first")


class ShareCreate(BaseModel):
    """The body of ``PUT /notes/{id}/share``; it may be left out (a link that never expires)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"expires_in_days": 7}, {"expires_in_days": None}]})

    expires_in_days: Annotated[int, Field(ge=EXPIRES_IN_DAYS_MIN, le=EXPIRES_IN_DAYS_MAX), JSON_INTEGER] | None = Field(
        default=None, description="The link stops working this many days from now; null or omitted: never"
    )


class ShareResponse(ResponseModel):
    url: str = Field(description="PUBLIC_URL/shared/<token>", examples=["https://til.example.com/shared/3q2-7wEAAAA"])
    token: str = Field(description="At least 16 random bytes, URL-safe")
    created_at: UtcTimestamp
    expires_at: UtcTimestamp | None = Field(description="null: the link never expires")

    @classmethod
    def from_domain(cls, share: Share, *, public_url: str) -> Self:
        return cls(
            url=f"{public_url}/shared/{share.token}",
            token=share.token,
            created_at=share.created_at,
            expires_at=share.expires_at,
        )


class SharedNoteResponse(ResponseModel):
    """A shared note as anyone with its link reads it: no ids and no email; the author by name."""

    title: str
    content: str = Field(description="As written (Markdown); the HTML page renders it")
    memo_date: str = Field(description="YYYYMMDD", examples=["20261127"])
    tags: list[str]
    author: str = Field(description="The owner's name")
    updated_at: UtcTimestamp

    @classmethod
    def from_domain(cls, note: SharedNote) -> Self:
        return cls(
            title=note.title,
            content=note.content,
            memo_date=format_memo_date(note.memo_date),
            tags=list(note.tags),
            author=note.author,
            updated_at=note.updated_at,
        )
