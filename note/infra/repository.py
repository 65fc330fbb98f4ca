"""SQLAlchemy repositories of the note app. They stage changes; the unit of work commits.

A page of notes loads in ONE statement whatever its size: the page's note
rows, each with its tags aggregated into a JSON array by a correlated
subquery, and the total count as an uncorrelated one. Only a page past the
end needs a second statement, for the count. One note is one statement too.

A shared note is read in ONE statement through the unique index on its link's
token hash: the share, its note with the note's tags, and the author's name.
Every kind of absence (no such hash, a link past its expiry, a note or account
gone with its share) is that same statement finding no row.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CursorResult,
    Insert,
    Row,
    Select,
    String,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from common.ids import IdGenerator
from common.pagination import Page, PageRequest
from database.functions import json_array_agg
from note.domain.note import Note
from note.domain.repository import NoteRepository, ShareRepository, TagRepository
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag, by_name
from note.infra.db_models import NoteRow, NoteShareRow, TagRow, note_tags
from note.infra.mappers import (
    note_from_row,
    note_row_values,
    note_tag_links,
    note_values,
    share_from_row,
    share_row_values,
    shared_note_from_row,
    tag_from_row,
    tag_names,
)
from note.infra.share_token_cipher import AesGcmShareTokenCipher

# Core statements on the tables, not ORM entities: reads map rows straight to
# domain entities, with no identity map to fill and to empty again.
notes = NoteRow.__table__
tags = TagRow.__table__
shares = NoteShareRow.__table__
NEWEST_FIRST = (notes.c.created_at.desc(), notes.c.id.desc())


def _tag_list() -> Any:
    """The note's tags as a JSON array of [position, name] pairs, correlated to the outer ``notes``."""
    link, tag = note_tags.alias("link"), tags.alias("tag")
    return (
        select(json_array_agg(func.json_array(link.c.position, tag.c.name)))
        .select_from(link.join(tag, tag.c.id == link.c.tag_id))
        .where(link.c.note_id == notes.c.id)
        .correlate(notes)
        .scalar_subquery()
        .label("tag_list")
    )


TAG_LIST = _tag_list()


def _tagged(statement: Select[Any]) -> Select[Any]:
    """``statement`` over notes, narrowed to the user's notes carrying the tag ``:tag_name``."""
    return (
        statement.join(note_tags, note_tags.c.note_id == notes.c.id)
        .join(tags, tags.c.id == note_tags.c.tag_id)
        .where(tags.c.user_id == bindparam("user_id"), tags.c.name == bindparam("tag_name"))
    )


def _page_statement(notes_of_user: Select[Any], count: Select[Any]) -> tuple[Select[Any], Select[Any]]:
    """A page of ``notes_of_user`` with each note's tags and the total; and the count alone."""
    page = (
        notes_of_user.add_columns(TAG_LIST, count.scalar_subquery().label("total_count"))
        .order_by(*NEWEST_FIRST)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return page, count


# Built once (parameters: user_id, tag_name, limit, offset): a statement object
# memoizes its cache key, so each request skips rebuilding and re-keying it.
MINE = notes.c.user_id == bindparam("user_id")
PAGE_FOR_USER = _page_statement(select(notes).where(MINE), select(func.count()).select_from(notes).where(MINE))
PAGE_FOR_TAG = _page_statement(
    _tagged(select(notes).where(MINE)), _tagged(select(func.count()).select_from(notes).where(MINE))
)
NOTE_BY_ID = select(notes, TAG_LIST).where(notes.c.id == bindparam("note_id"))


class SqlAlchemyNoteRepository(NoteRepository):
    def __init__(self, session: Session, ids: IdGenerator) -> None:
        self._session = session
        self._ids = ids

    def add(self, note: Note) -> None:
        self._session.execute(insert(notes).values(note_row_values(note)))
        if note.tags:
            self._link(note, self._lock_tags(user_id=note.user_id, names=note.tags))

    def get(self, note_id: str) -> Note | None:
        row = self._session.execute(NOTE_BY_ID, {"note_id": note_id}).first()
        return None if row is None else note_from_row(row, tag_names(row.tag_list))

    def get_for_update(self, note_id: str) -> Note | None:
        row = self._session.execute(select(notes).where(notes.c.id == note_id).with_for_update()).first()
        return None if row is None else self._with_tags([row])[0]

    def update(self, note: Note, *, expected_version: int) -> bool:
        result: CursorResult[Any] = self._session.execute(  # type: ignore[assignment]
            update(notes).where(notes.c.id == note.id, notes.c.version == expected_version).values(note_values(note))
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
        self._session.execute(delete(notes).where(notes.c.id == note.id))

    def page_for_user(self, *, user_id: str, page: PageRequest) -> Page[Note]:
        return self._page(PAGE_FOR_USER, {"user_id": user_id}, page)

    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        if _padded(tag_name):
            return Page(items=[], total_count=0, page=page.page)
        return self._page(PAGE_FOR_TAG, {"user_id": user_id, "tag_name": tag_name}, page)

    def _page(
        self, statements: tuple[Select[Any], Select[Any]], parameters: dict[str, Any], page: PageRequest
    ) -> Page[Note]:
        page_statement, count_statement = statements
        rows = self._session.execute(page_statement, {**parameters, "limit": page.limit, "offset": page.offset}).all()
        # A page past the end has no row to carry the total: ask for it alone.
        total_count = rows[0].total_count if rows else self._session.scalar(count_statement, parameters) or 0
        items = [note_from_row(row, tag_names(row.tag_list)) for row in rows]
        return Page(items=items, total_count=total_count, page=page.page)

    def _with_tags(self, rows: Sequence[Row[Any]]) -> list[Note]:
        """Entities for ``rows``, with the tags of all of them read in one statement."""
        if not rows:
            return []
        names = self._tag_names([row.id for row in rows])
        return [note_from_row(row, names[row.id]) for row in rows]

    def _tag_names(self, note_ids: Sequence[str]) -> dict[str, list[str]]:
        """The tag names of each note, in the note's order: one statement for any number of notes."""
        names: dict[str, list[str]] = defaultdict(list)
        links = self._session.execute(
            select(note_tags.c.note_id, tags.c.name)
            .join(tags, tags.c.id == note_tags.c.tag_id)
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
            select(tags.c.name, tags.c.id)
            .where(tags.c.user_id == user_id, tags.c.name.in_(list(names)))
            .with_for_update(read=True)
        )
        return dict(found.all())  # (name, id) rows


class SqlAlchemyTagRepository(TagRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def list_for_user(self, user_id: str) -> Sequence[Tag]:
        rows = self._session.execute(
            select(tags.c.name, func.count(note_tags.c.note_id))
            .outerjoin(note_tags, note_tags.c.tag_id == tags.c.id)
            .where(tags.c.user_id == user_id)
            .group_by(tags.c.id, tags.c.name)
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
            delete(tags)
            .where(
                tags.c.user_id == user_id,
                tags.c.name.in_(list(names)),
                ~exists().where(note_tags.c.tag_id == tags.c.id),
            )
            .execution_options(synchronize_session=False)
        )


def _padded(name: str) -> bool:
    """True for a name no stored tag can have: stored names are trimmed.

    Checked in Python because MySQL's PAD SPACE collations (``utf8mb4_bin``
    among them) say ``'study ' = 'study'``; the names compare exactly here.
    """
    return name.endswith(" ")


def _upsert_tags(session: Session) -> Insert:
    """An INSERT of tag rows that leaves (and locks) an existing (user, name), and fails on anything else."""
    return UPSERT_TAGS_SQLITE if session.get_bind().dialect.name == "sqlite" else UPSERT_TAGS_MYSQL


# SQLite has one writer at a time (BEGIN IMMEDIATE): there is nothing to lock.
UPSERT_TAGS_SQLITE = sqlite.insert(tags).on_conflict_do_nothing(index_elements=["user_id", "name"])
_insert_tags = mysql.insert(tags)
# A no-op update, for its exclusive lock on the existing row.
UPSERT_TAGS_MYSQL = _insert_tags.on_duplicate_key_update(name=_insert_tags.inserted.name)


# The user app's table by name only (the note app never imports the user app): the author's name.
users = table("users", column("id", String), column("name", String))


def _active_at_now() -> Any:
    return or_(shares.c.expires_at.is_(None), shares.c.expires_at > bindparam("now"))


# Built once (parameters: token_hash, now).
SHARED_NOTE = (
    select(
        notes.c.title,
        notes.c.content,
        notes.c.memo_date,
        notes.c.updated_at,
        users.c.name.label("author"),
        shares.c.sealed_token,
        TAG_LIST,
    )
    .select_from(shares.join(notes, notes.c.id == shares.c.note_id).join(users, users.c.id == notes.c.user_id))
    .where(shares.c.token_hash == bindparam("token_hash"), _active_at_now())
)
SHARE_OF_NOTE = select(shares).where(shares.c.note_id == bindparam("note_id"))
DELETE_SHARE_OF_NOTE = delete(shares).where(shares.c.note_id == bindparam("note_id"))


class SqlAlchemyShareRepository(ShareRepository):
    def __init__(self, session: Session, cipher: AesGcmShareTokenCipher) -> None:
        self._session = session
        self._cipher = cipher

    def replace(self, share: Share) -> None:
        self.delete_for_note(share.note_id)
        sealed = self._cipher.seal(share.token, token_hash=share.token_hash)
        self._session.execute(insert(shares).values(share_row_values(share, sealed_token=sealed)))

    def get_for_note(self, note_id: str) -> Share | None:
        row = self._session.execute(SHARE_OF_NOTE, {"note_id": note_id}).first()
        if row is None:
            return None
        token = self._cipher.open(row.sealed_token, token_hash=row.token_hash)
        return None if token is None else share_from_row(row, token=token)

    def delete_for_note(self, note_id: str) -> None:
        self._session.execute(DELETE_SHARE_OF_NOTE, {"note_id": note_id})

    def find_shared(self, *, token_hash: str, now: datetime) -> SharedNote | None:
        row = self._session.execute(SHARED_NOTE, {"token_hash": token_hash, "now": now}).first()
        # A token sealed under another key: its link went with the secret it was made under.
        if row is None or self._cipher.open(row.sealed_token, token_hash=token_hash) is None:
            return None
        return shared_note_from_row(row)
