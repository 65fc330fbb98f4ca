"""SQLAlchemy tables of the note app. Rows never leave infra: see mappers.py.

``user_id`` references ``users.id`` by table name only: the note app never
imports the user app. Deleting a user removes its notes and tags through
``ON DELETE CASCADE``, and a note's tag links and its share go with the note.
"""

from datetime import date, datetime

from sqlalchemy import Column, Date, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from database.base import MYSQL_TABLE_OPTIONS, Base
from database.types import EXACT_COLLATION, UtcDateTime, exact_string, ulid

# 20,000 characters of utf8mb4 can take 80,000 bytes: more than MySQL's TEXT holds.
CONTENT_TYPE = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# The folded title, content and tag names (note/domain/search.py), compared byte for byte: the text is
# folded already, so the database must neither fold case again nor ignore accents, whatever its collation.
# NFKC and case folding can lengthen text, so it gets MEDIUMTEXT's 16 MiB.
SEARCH_TEXT_TYPE = Text().with_variant(mysql.MEDIUMTEXT(collation=EXACT_COLLATION), "mysql", "mariadb")

note_tags = Table(
    "note_tags",
    Base.metadata,
    Column("note_id", ulid(), ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ulid(), ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # Where the tag stands in its note's list: notes keep the order their writer gave.
    Column("position", Integer, nullable=False),
    # The note's created_at, which never changes: a tag's notes, newest first, are this index in order.
    Column("note_created_at", UtcDateTime(), nullable=False),
    Index("ix_note_tags_tag_id_note_created_at_note_id", "tag_id", "note_created_at", "note_id"),
    **MYSQL_TABLE_OPTIONS,
)


class NoteRow(Base):
    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_user_id_created_at_id", "user_id", "created_at", "id"),
        # The other sorts of a listing, and its memo_date range (SPEC §9).
        Index("ix_notes_user_id_memo_date_id", "user_id", "memo_date", "id"),
        Index("ix_notes_user_id_updated_at_id", "user_id", "updated_at", "id"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(CONTENT_TYPE)
    memo_date: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Kept by every write of the title, content or tags, in its transaction; never read back into a Note.
    search_text: Mapped[str] = mapped_column(SEARCH_TEXT_TYPE)


class TagRow(Base):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_tags_user_id_name"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(ulid(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"))
    # Compared byte for byte: Study, study and stüdy are three tags.
    name: Mapped[str] = mapped_column(exact_string(32))


class ReviewScheduleRow(Base):
    """A note's review schedule: written with the note, and gone with it."""

    __tablename__ = "review_schedules"
    __table_args__ = (Index("ix_review_schedules_due_at", "due_at"), MYSQL_TABLE_OPTIONS)

    note_id: Mapped[str] = mapped_column(ulid(), ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16))
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stability: Mapped[float | None] = mapped_column(Float, nullable=True)
    difficulty: Mapped[float | None] = mapped_column(Float, nullable=True)
    reps: Mapped[int] = mapped_column(Integer)
    lapses: Mapped[int] = mapped_column(Integer)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class DigestWeekRow(Base):
    """The last ISO week ("2026-W49") whose weekly digest an account has had; goes with the account."""

    __tablename__ = "digest_weeks"
    __table_args__ = MYSQL_TABLE_OPTIONS

    user_id: Mapped[str] = mapped_column(ulid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[str] = mapped_column(String(8))


note_imports = Table(
    "note_imports",
    Base.metadata,
    # What the caller's imports already brought in, by the id the file gave (a digest of it: any
    # string, any length, compared exactly), so importing the same file again creates nothing new.
    Column("user_id", ulid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("source_digest", exact_string(64), primary_key=True),
    # Deleting the imported note forgets the import: importing the file again brings the note back.
    Column("note_id", ulid(), ForeignKey("notes.id", ondelete="CASCADE"), nullable=False),
    Index("ix_note_imports_note_id", "note_id"),
    **MYSQL_TABLE_OPTIONS,
)


class NoteShareRow(Base):
    """A note's public link: one per note (the note id is the key), found by its token's SHA-256.

    ``sealed_token`` is the token encrypted with the service's key (see share_token_cipher.py),
    so the owner can be shown the link again while the table alone opens nothing.
    """

    __tablename__ = "note_shares"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_note_shares_token_hash"),
        MYSQL_TABLE_OPTIONS,
    )

    note_id: Mapped[str] = mapped_column(ulid(), ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(exact_string(64))
    sealed_token: Mapped[str] = mapped_column(exact_string(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
