"""SQLAlchemy repositories of the note app. They stage changes; the unit of work commits.

A page of notes loads in three statements whatever its size: a COUNT, the
page of note rows, and the tag names of all the page's notes at once.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import CursorResult, Insert, Select, delete, exists, func, insert, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from common.ids import IdGenerator
from common.pagination import PageRequest
from note.domain.note import Note
from note.domain.repository import NoteRepository, TagRepository
from note.domain.tag import Tag, by_name
from note.infra.db_models import NoteRow, TagRow, note_tags
from note.infra.mappers import note_from_row, note_tag_links, note_to_row, note_values, tag_from_row

NEWEST_FIRST = (NoteRow.created_at.desc(), NoteRow.id.desc())


class SqlAlchemyNoteRepository(NoteRepository):
    def __init__(self, session: Session, ids: IdGenerator) -> None:
        self._session = session
        self._ids = ids

    def add(self, note: Note) -> None:
        self._session.add(note_to_row(note))
        self._session.flush()
        if note.tags:
            self._link(note, self._lock_tags(user_id=note.user_id, names=note.tags))

    def get(self, note_id: str) -> Note | None:
        row = self._session.get(NoteRow, note_id)
        return None if row is None else self._with_tags([row])[0]

    def get_for_update(self, note_id: str) -> Note | None:
        row = self._session.scalars(
            select(NoteRow).where(NoteRow.id == note_id).with_for_update().execution_options(populate_existing=True)
        ).first()
        return None if row is None else self._with_tags([row])[0]

    def update(self, note: Note, *, expected_version: int) -> bool:
        result: CursorResult[Any] = self._session.execute(  # type: ignore[assignment]
            update(NoteRow)
            .where(NoteRow.id == note.id, NoteRow.version == expected_version)
            .values(note_values(note))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        previous = self._tag_names([note.id])[note.id]
        if previous != note.tags:
            # Old and new tags are locked together, so a tag dropped here is held until it is removed.
            tag_ids = self._lock_tags(user_id=note.user_id, names={*previous, *note.tags})
            # By full primary key, not by note_id alone: exact-match deletes take no gap locks.
            self._session.execute(
                delete(note_tags).where(
                    note_tags.c.note_id == note.id, note_tags.c.tag_id.in_([tag_ids[name] for name in previous])
                )
            )
            self._link(note, tag_ids)
        return True

    def delete(self, note: Note) -> None:
        if note.tags:
            self._lock_tags(user_id=note.user_id, names=note.tags)
        # ON DELETE CASCADE takes the note's tag links with it.
        self._session.execute(delete(NoteRow).where(NoteRow.id == note.id).execution_options(synchronize_session=False))

    def list_for_user(self, *, user_id: str, page: PageRequest) -> Sequence[Note]:
        return self._page(select(NoteRow).where(NoteRow.user_id == user_id), page)

    def count_for_user(self, user_id: str) -> int:
        return self._session.scalar(select(func.count()).select_from(NoteRow).where(NoteRow.user_id == user_id)) or 0

    def list_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Sequence[Note]:
        if _padded(tag_name):
            return []
        return self._page(_tagged(select(NoteRow), user_id=user_id, tag_name=tag_name), page)

    def count_for_tag(self, *, user_id: str, tag_name: str) -> int:
        if _padded(tag_name):
            return 0
        statement = _tagged(select(func.count()).select_from(NoteRow), user_id=user_id, tag_name=tag_name)
        return self._session.scalar(statement) or 0

    def _page(self, statement: Select[tuple[NoteRow]], page: PageRequest) -> list[Note]:
        rows = self._session.scalars(statement.order_by(*NEWEST_FIRST).offset(page.offset).limit(page.limit)).all()
        return self._with_tags(rows)

    def _with_tags(self, rows: Sequence[NoteRow]) -> list[Note]:
        """Entities for ``rows``, with the tags of all of them read in one statement."""
        if not rows:
            return []
        names = self._tag_names([row.id for row in rows])
        return [note_from_row(row, names[row.id]) for row in rows]

    def _tag_names(self, note_ids: Sequence[str]) -> dict[str, list[str]]:
        """The tag names of each note, in the note's order: one statement for any number of notes."""
        names: dict[str, list[str]] = defaultdict(list)
        links = self._session.execute(
            select(note_tags.c.note_id, TagRow.name)
            .join(TagRow, TagRow.id == note_tags.c.tag_id)
            .where(note_tags.c.note_id.in_(note_ids))
            .order_by(note_tags.c.note_id, note_tags.c.position)
        )
        for note_id, name in links:
            names[note_id].append(name)
        return names

    def _link(self, note: Note, tag_ids: dict[str, str]) -> None:
        if note.tags:
            self._session.execute(insert(note_tags), note_tag_links(note, tag_ids))

    def _lock_tags(self, *, user_id: str, names: Collection[str]) -> dict[str, str]:
        """Lock the user's tags called ``names``, creating the missing ones; their ids by name.

        Every write takes its tag locks here, all at once and in name order,
        before it touches any link, so concurrent writers sharing tags queue
        instead of deadlocking. The upsert locks an existing row (waiting for
        one being written or removed) and inserts a missing one; the read
        after it is a locking read, which sees the latest committed rows.
        """
        rows = [{"id": self._ids.new_id(), "user_id": user_id, "name": name} for name in sorted(names)]
        self._session.execute(_upsert_tags(self._session), rows)
        found = self._session.execute(
            select(TagRow.name, TagRow.id)
            .where(TagRow.user_id == user_id, TagRow.name.in_(list(names)))
            .with_for_update(read=True)
        )
        return dict(found.all())  # (name, id) rows


class SqlAlchemyTagRepository(TagRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        rows = self._session.execute(
            select(TagRow.name, func.count(note_tags.c.note_id))
            .outerjoin(note_tags, note_tags.c.tag_id == TagRow.id)
            .where(TagRow.user_id == user_id)
            .group_by(TagRow.id, TagRow.name)
        )
        # Sorted here, not by ORDER BY: code-point order whatever the database's collation.
        return by_name(tag_from_row(name, count) for name, count in rows)

    def remove_unused(self, *, user_id: str, names: Collection[str]) -> None:
        if not names:
            return
        # One statement. The writer that unlinked these tags holds their locks
        # (see _lock_tags), so nobody can link them meanwhile; and in MySQL the
        # subquery of a DELETE is a locking read of the latest committed links,
        # never of an older snapshot, so a tag still in use is never removed.
        self._session.execute(
            delete(TagRow)
            .where(
                TagRow.user_id == user_id,
                TagRow.name.in_(list(names)),
                ~exists().where(note_tags.c.tag_id == TagRow.id),
            )
            .execution_options(synchronize_session=False)
        )


def _tagged(statement: Select[Any], *, user_id: str, tag_name: str) -> Select[Any]:
    """``statement`` over notes, narrowed to the user's notes carrying the tag."""
    return (
        statement.join(note_tags, note_tags.c.note_id == NoteRow.id)
        .join(TagRow, TagRow.id == note_tags.c.tag_id)
        .where(NoteRow.user_id == user_id, TagRow.user_id == user_id, TagRow.name == tag_name)
    )


def _padded(name: str) -> bool:
    """True for a name no stored tag can have: stored names are trimmed.

    Checked in Python because MySQL's PAD SPACE collations (``utf8mb4_bin``
    among them) say ``'study ' = 'study'``; the names compare exactly here.
    """
    return name.endswith(" ")


def _upsert_tags(session: Session) -> Insert:
    """An INSERT of tag rows that leaves (and locks) an existing (user, name), and fails on anything else."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time (BEGIN IMMEDIATE): there is nothing to lock.
        return sqlite.insert(TagRow).on_conflict_do_nothing(index_elements=["user_id", "name"])
    statement = mysql.insert(TagRow)
    # A no-op update, for its exclusive lock on the existing row.
    return statement.on_duplicate_key_update(name=statement.inserted.name)
