"""SQLAlchemy repositories of the note app. They stage changes; the unit of work commits.

A page of notes loads in ONE statement whatever its size: the page's note
rows, each with its tags aggregated into a JSON array by a correlated
subquery, and the total count as an uncorrelated one. Only a page past the
end needs a second statement, for the count. One note is one statement too.

A listing's conditions (SPEC §9) are all on the caller's notes: ``user_id``
first, then an escaped ``LIKE`` on the folded ``search_text`` per term, an
``EXISTS`` per tag and the ``memo_date`` bounds, in the order of the sort
with ties by id in the same direction.

A shared note is read in ONE statement through the unique index on its link's
token hash: the share, its note with the note's tags, and the author's name.
Every kind of absence (no such hash, a link past its expiry, a note or account
gone with its share) is that same statement finding no row.
"""

import functools
import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Insert,
    Row,
    Select,
    String,
    UnaryExpression,
    and_,
    bindparam,
    column,
    delete,
    exists,
    extract,
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
from note.domain.repository import (
    DigestWeekRepository,
    NoteImportRepository,
    NoteRepository,
    ReviewScheduleRepository,
    ShareRepository,
    TagRepository,
)
from note.domain.review import DueNote, ReviewSchedule
from note.domain.search import EVERY_NOTE, NoteSearch, NoteSort, searchable_text
from note.domain.share import Share, SharedNote
from note.domain.tag import Tag, by_name
from note.infra.db_models import (
    DigestWeekRow,
    NoteRow,
    NoteShareRow,
    ReviewScheduleRow,
    TagRow,
    note_imports,
    note_tags,
)
from note.infra.mappers import (
    note_from_row,
    note_row_values,
    note_tag_links,
    note_values,
    schedule_from_row,
    schedule_values,
    share_from_row,
    share_row_values,
    shared_note_from_row,
    tag_from_row,
    tag_ids_by_name,
    tag_names,
)
from note.infra.share_token_cipher import AesGcmShareTokenCipher

# Core statements on the tables, not ORM entities: reads map rows straight to
# domain entities, with no identity map to fill and to empty again.
notes = NoteRow.__table__
tags = TagRow.__table__
schedules = ReviewScheduleRow.__table__
NEWEST_FIRST = (notes.c.created_at.desc(), notes.c.id.desc())
# What a Note is read from: every column but the folded search text, which is only searched.
NOTE_COLUMNS = [column for column in notes.c if column.name != "search_text"]
SORT_COLUMNS = {"created_at": notes.c.created_at, "memo_date": notes.c.memo_date, "updated_at": notes.c.updated_at}
# The escape character of every LIKE pattern: a term's %, _ and \ are literal characters.
LIKE_ESCAPE = "\\"
# Notes whose search text one refresh reads and writes at a time.
REFRESH_BATCH = 200
shares = NoteShareRow.__table__


def _tag_list(*, with_ids: bool = False) -> Any:
    """The note's tags as a JSON array of [position, name] pairs (with ``with_ids``, [position, name, id]),
    correlated to the outer ``notes``."""
    link, tag = note_tags.alias("link"), tags.alias("tag")
    columns = (link.c.position, tag.c.name, tag.c.id) if with_ids else (link.c.position, tag.c.name)
    return (
        select(json_array_agg(func.json_array(*columns)))
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


def _order(sort: NoteSort) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
    """``sort``'s column, then id, both in its direction."""
    column = SORT_COLUMNS[sort.field]
    return (column.desc(), notes.c.id.desc()) if sort.descending else (column.asc(), notes.c.id.asc())


def _page_statement(
    notes_of_user: Select[Any], count: Select[Any], order: Sequence[UnaryExpression[Any]]
) -> tuple[Select[Any], Select[Any]]:
    """A page of ``notes_of_user`` in ``order`` with each note's tags and the total; and the count alone."""
    page = (
        notes_of_user.add_columns(TAG_LIST, count.scalar_subquery().label("total_count"))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return page, count


# Built once (parameters: user_id, tag_name, limit, offset): a statement object
# memoizes its cache key, so each request skips rebuilding and re-keying it.
MINE = notes.c.user_id == bindparam("user_id")
# Newest first, like NEWEST_FIRST, in the copy of (created_at, id) each link keeps: the page reads the
# tag's links in the order of their index and stops at its end, instead of sorting all the tag's notes.
PAGE_FOR_TAG = _page_statement(
    _tagged(select(*NOTE_COLUMNS).where(MINE)),
    _tagged(select(func.count()).select_from(notes).where(MINE)),
    (note_tags.c.note_created_at.desc(), note_tags.c.note_id.desc()),
)
COUNT_FOR_USER = select(func.count()).select_from(notes).where(MINE)
MEMO_MONTH, MEMO_DAY, MEMO_YEAR = (extract(part, notes.c.memo_date) for part in ("month", "day", "year"))
WITH_MEMO_DAY = (
    select(*NOTE_COLUMNS, TAG_LIST)
    .where(
        MINE,
        bindparam("month") == MEMO_MONTH,
        MEMO_DAY.in_(bindparam("days", expanding=True)),
        bindparam("before_year") > MEMO_YEAR,
    )
    .order_by(notes.c.memo_date.desc(), *NEWEST_FIRST)
)
WITH_MEMO_DATES_BETWEEN = (
    select(*NOTE_COLUMNS, TAG_LIST)
    .where(MINE, notes.c.memo_date.between(bindparam("first"), bindparam("last")))
    .order_by(notes.c.memo_date, notes.c.created_at, notes.c.id)
)
# The distinct days a user wrote notes for, with how many: all the streaks need, in one statement.
COUNT_BY_MEMO_DATE = (
    select(notes.c.memo_date, func.count())
    .where(MINE, notes.c.memo_date <= bindparam("until"))
    .group_by(notes.c.memo_date)
    .order_by(notes.c.memo_date)
)
# The caller's notes due now, with their schedules, most overdue first.
_DUE = schedules.c.due_at <= bindparam("now")
DUE_FOR_USER = (
    select(*NOTE_COLUMNS, TAG_LIST, *(column for column in schedules.c if column.name != "note_id"))
    .join(schedules, schedules.c.note_id == notes.c.id)
    .where(MINE, _DUE)
    .order_by(schedules.c.due_at, notes.c.id)
    .limit(bindparam("limit"))
)
COUNT_DUE = select(func.count()).select_from(notes.join(schedules, schedules.c.note_id == notes.c.id)).where(MINE, _DUE)
NOTE_BY_ID = select(*NOTE_COLUMNS, TAG_LIST).where(notes.c.id == bindparam("note_id"))
REFRESH_SEARCH_TEXT = (
    update(notes).where(notes.c.id == bindparam("note_id")).values(search_text=bindparam("new_search_text"))
)
# The writes' statements, built once too; an INSERT's or UPDATE's columns are those its parameters name.
INSERT_NOTES = insert(notes)
INSERT_LINKS = insert(note_tags)
INSERT_SCHEDULES = insert(schedules)
DELETE_NOTE = delete(notes).where(notes.c.id == bindparam("note_id"))  # ON DELETE CASCADE: its links too
SCHEDULE_FOR_UPDATE = select(schedules).where(schedules.c.note_id == bindparam("note_id")).with_for_update()
UPDATE_SCHEDULE = update(schedules).where(schedules.c.note_id == bindparam("b_note_id"))
# The note locked, with its tags' ids. A locking read locks the outer rows only: the tags are a plain read,
# made for the row once it is locked, so under READ COMMITTED they are those of the last writer the lock
# waited for (tests/e2e/test_notes_concurrency.py), as a read after the lock would see them.
NOTE_FOR_UPDATE = (
    select(*NOTE_COLUMNS, _tag_list(with_ids=True)).where(notes.c.id == bindparam("note_id")).with_for_update()
)
# The note's row at its expected version (SET: note_values).
UPDATE_NOTE = update(notes).where(notes.c.id == bindparam("b_note_id"), notes.c.version == bindparam("b_version"))
# The tags of some notes: (note_id, name, tag_id), each note's in its order.
TAGS_OF_NOTES = (
    select(note_tags.c.note_id, tags.c.name, tags.c.id)
    .join(tags, tags.c.id == note_tags.c.tag_id)
    .where(note_tags.c.note_id.in_(bindparam("note_ids", expanding=True)))
    .order_by(note_tags.c.note_id, note_tags.c.position)
)
# By full primary key, not by note_id alone: exact-match deletes take no gap locks.
UNLINK_TAGS = delete(note_tags).where(
    note_tags.c.note_id == bindparam("note_id"), note_tags.c.tag_id.in_(bindparam("tag_ids", expanding=True))
)
_NAMED = and_(tags.c.user_id == bindparam("user_id"), tags.c.name.in_(bindparam("names", expanding=True)))
# Those of some tags that exist, locked for the write, with their ids: a locking read sees the latest
# committed rows. Again after the upsert of the missing ones, which locked them already, for their ids.
TAGS_LOCKED = select(tags.c.name, tags.c.id).where(_NAMED).with_for_update()
# One statement. The writer that unlinked these tags holds their locks (see _lock_tags), so nobody can
# link them meanwhile; and in MySQL the subquery of a DELETE reads the latest committed links, never an
# older snapshot, so a tag still in use is never removed.
DELETE_UNUSED_TAGS = (
    delete(tags)
    .where(_NAMED, ~exists().where(note_tags.c.tag_id == tags.c.id))
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True, slots=True)
class _ListingShape:
    """What a listing's statement depends on; its values are bound parameters."""

    terms: int
    tags: int
    memo_from: bool
    memo_to: bool
    sort: NoteSort

    @classmethod
    def of(cls, search: NoteSearch) -> "_ListingShape":
        return cls(
            terms=len(search.terms),
            tags=len(search.tags),
            memo_from=search.memo_from is not None,
            memo_to=search.memo_to is not None,
            sort=search.sort,
        )


def _carries_tag(number: int) -> ColumnElement[bool]:
    """The outer note carries the user's tag named ``:tag_<number>``, exactly."""
    link, tag = note_tags.alias(f"link_{number}"), tags.alias(f"tag_{number}")
    return (
        exists()
        .select_from(link.join(tag, tag.c.id == link.c.tag_id))
        .where(
            link.c.note_id == notes.c.id,
            tag.c.user_id == bindparam("user_id"),
            tag.c.name == bindparam(f"tag_{number}"),
        )
    )


def _listing_conditions(shape: _ListingShape) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [MINE]
    conditions += [notes.c.search_text.like(bindparam(f"term_{n}"), escape=LIKE_ESCAPE) for n in range(shape.terms)]
    conditions += [_carries_tag(n) for n in range(shape.tags)]
    if shape.memo_from:
        conditions.append(notes.c.memo_date >= bindparam("memo_from"))
    if shape.memo_to:
        conditions.append(notes.c.memo_date <= bindparam("memo_to"))
    return conditions


@functools.cache
def _listing(shape: _ListingShape) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements of one shape, built the first time it is asked for, then reused
    (a few thousand shapes at most: up to 10 terms, 10 tags, two bounds, six sorts)."""
    conditions = _listing_conditions(shape)
    return _page_statement(
        select(*NOTE_COLUMNS).where(*conditions),
        select(func.count()).select_from(notes).where(*conditions),
        _order(shape.sort),
    )


def _listing_parameters(user_id: str, search: NoteSearch) -> dict[str, Any]:
    parameters: dict[str, Any] = {"user_id": user_id, "memo_from": search.memo_from, "memo_to": search.memo_to}
    parameters.update({f"term_{n}": f"%{_escape_like(term)}%" for n, term in enumerate(search.terms)})
    parameters.update({f"tag_{n}": name for n, name in enumerate(search.tags)})
    return parameters


def _escape_like(term: str) -> str:
    """``term`` as the inside of a LIKE pattern that matches exactly itself (escape character: backslash)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


OLDEST_FIRST = (notes.c.created_at, notes.c.id)
FIRST_OLDEST = select(*NOTE_COLUMNS, TAG_LIST).where(MINE).order_by(*OLDEST_FIRST).limit(bindparam("limit"))
# The keyset: strictly after (created_at, id), spelled so both databases use the (user_id, created_at, id) index.
NEXT_OLDEST = FIRST_OLDEST.where(
    or_(
        notes.c.created_at > bindparam("after_created_at"),
        and_(notes.c.created_at == bindparam("after_created_at"), notes.c.id > bindparam("after_id")),
    )
)
# Rows per INSERT statement of a batched write (an executemany each).
INSERT_BATCH = 500
# Ids per IN (...) list.
LOOKUP_BATCH = 1000


class SqlAlchemyNoteRepository(NoteRepository):
    """``get_for_update`` remembers the ids of the locked note's tags, for its ``update`` in the same unit
    of work: nobody changes a note's links or renames its tags without that note's lock."""

    def __init__(self, session: Session, ids: IdGenerator) -> None:
        self._session = session
        self._ids = ids
        self._locked_tag_ids: dict[str, dict[str, str]] = {}  # note id -> {tag name: tag id}

    def add(self, note: Note) -> None:
        self._session.execute(INSERT_NOTES, note_row_values(note))
        if note.tags:
            self._link(note, self._lock_tags(user_id=note.user_id, names=note.tags))

    def add_many(self, notes_to_add: Sequence[Note]) -> None:
        for batch in _batches(notes_to_add, INSERT_BATCH):
            self._session.execute(INSERT_NOTES, [note_row_values(note) for note in batch])
            names_by_user: dict[str, set[str]] = defaultdict(set)
            for note in batch:
                names_by_user[note.user_id].update(note.tags)
            links: list[dict[str, Any]] = []
            for user_id, names in names_by_user.items():
                if names:
                    tag_ids = self._lock_tags(user_id=user_id, names=names)
                    links += [
                        link for note in batch if note.user_id == user_id for link in note_tag_links(note, tag_ids)
                    ]
            if links:
                self._session.execute(INSERT_LINKS, links)

    def get(self, note_id: str) -> Note | None:
        row = self._session.execute(NOTE_BY_ID, {"note_id": note_id}).first()
        return None if row is None else note_from_row(row, tag_names(row.tag_list))

    def owners(self, note_ids: Collection[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for batch in _batches(sorted(note_ids), LOOKUP_BATCH):
            rows = self._session.execute(select(notes.c.id, notes.c.user_id).where(notes.c.id.in_(batch)))
            found.update(dict(rows.all()))  # (id, user_id) rows
        return found

    def oldest_first(self, *, user_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Note]:
        if after is None:
            rows = self._session.execute(FIRST_OLDEST, {"user_id": user_id, "limit": limit})
        else:
            parameters = {"user_id": user_id, "limit": limit, "after_created_at": after[0], "after_id": after[1]}
            rows = self._session.execute(NEXT_OLDEST, parameters)
        return [note_from_row(row, tag_names(row.tag_list)) for row in rows]

    def with_tag_for_update(self, *, user_id: str, tag_name: str, also_locking: Collection[str] = ()) -> list[Note]:
        if _padded(tag_name):
            return []
        carrying = self._session.execute(
            select(note_tags.c.note_id)
            .join(tags, tags.c.id == note_tags.c.tag_id)
            .where(tags.c.user_id == user_id, tags.c.name == tag_name)
        )
        note_ids = set(carrying.scalars())
        if not note_ids:
            return []
        rows = self._lock_notes(note_ids)
        tags_by_note = self._tags_of([row.id for row in rows])
        self._lock_tags(user_id=user_id, names={tag_name, *also_locking, *_flat(tags_by_note.values())})
        # A note that took the tag after the first read and before the tag was locked: lock it too.
        # Rare, and out of order, so it may deadlock; the database then aborts one side, which retries.
        late = set(self._carrying_locked(user_id=user_id, tag_name=tag_name)) - note_ids
        if late:
            rows += self._lock_notes(late)
            tags_by_note = self._tags_of([row.id for row in rows])
            self._lock_tags(user_id=user_id, names=set(_flat(tags_by_note.values())))
        self._locked_tag_ids.update(tags_by_note)
        return [note_from_row(row, list(tags_by_note[row.id])) for row in rows]

    def _lock_notes(self, note_ids: Collection[str]) -> list[Row[Any]]:
        """Lock the notes by primary key, in id order (one order for every writer of several notes)."""
        rows: list[Row[Any]] = []
        for batch in _batches(sorted(note_ids), LOOKUP_BATCH):
            locking = select(notes).where(notes.c.id.in_(batch)).order_by(notes.c.id).with_for_update()
            rows += self._session.execute(locking).all()
        return rows

    def _carrying_locked(self, *, user_id: str, tag_name: str) -> list[str]:
        """The ids of the notes carrying the tag, by a locking read: the latest committed links."""
        carrying = self._session.execute(
            select(note_tags.c.note_id)
            .join(tags, tags.c.id == note_tags.c.tag_id)
            .where(tags.c.user_id == user_id, tags.c.name == tag_name)
            .with_for_update(read=True)
        )
        return list(carrying.scalars())

    def get_for_update(self, note_id: str) -> Note | None:
        row = self._session.execute(NOTE_FOR_UPDATE, {"note_id": note_id}).first()
        if row is None:
            return None
        tag_ids = tag_ids_by_name(row.tag_list)
        self._locked_tag_ids[note_id] = tag_ids
        return note_from_row(row, list(tag_ids))

    def update(self, note: Note, *, expected_version: int) -> bool:
        parameters = {"b_note_id": note.id, "b_version": expected_version, **note_values(note)}
        result: CursorResult[Any] = self._session.execute(UPDATE_NOTE, parameters)  # type: ignore[assignment]
        if result.rowcount != 1:
            return False
        previous = self._locked_tag_ids.get(note.id)
        if previous is None:  # not locked here: read them, under the row lock the UPDATE took
            previous = self._tags_of([note.id])[note.id]
        if list(previous) != note.tags:
            # Old and new tags are locked together, so a tag dropped here is held until it is removed.
            tag_ids = self._lock_tags(user_id=note.user_id, names={*previous, *note.tags})
            if previous:
                self._session.execute(UNLINK_TAGS, {"note_id": note.id, "tag_ids": list(previous.values())})
            self._link(note, tag_ids)
            self._locked_tag_ids[note.id] = {name: tag_ids[name] for name in note.tags}
        return True

    def delete(self, note: Note) -> None:
        if note.tags:
            self._lock_tags(user_id=note.user_id, names=note.tags)
        # ON DELETE CASCADE takes the note's tag links with it.
        self._session.execute(DELETE_NOTE, {"note_id": note.id})

    def page_for_user(self, *, user_id: str, page: PageRequest, search: NoteSearch = EVERY_NOTE) -> Page[Note]:
        if search.impossible:
            return Page(items=[], total_count=0, page=page.page)
        return self._page(_listing(_ListingShape.of(search)), _listing_parameters(user_id, search), page)

    def refresh_search_text(self, *, user_id: str, note_ids: Collection[str]) -> None:
        ordered = sorted(set(note_ids))
        for start in range(0, len(ordered), REFRESH_BATCH):
            batch = ordered[start : start + REFRESH_BATCH]
            rows = self._session.execute(
                select(notes.c.id, notes.c.title, notes.c.content).where(
                    notes.c.user_id == user_id, notes.c.id.in_(batch)
                )
            ).all()
            if not rows:
                continue
            names = self._tag_names([row.id for row in rows])
            fresh = [
                {
                    "note_id": row.id,
                    "new_search_text": searchable_text(title=row.title, content=row.content, tags=names[row.id]),
                }
                for row in rows
            ]
            self._session.execute(REFRESH_SEARCH_TEXT, fresh)

    def page_for_tag(self, *, user_id: str, tag_name: str, page: PageRequest) -> Page[Note]:
        if _padded(tag_name):
            return Page(items=[], total_count=0, page=page.page)
        return self._page(PAGE_FOR_TAG, {"user_id": user_id, "tag_name": tag_name}, page)

    def with_memo_day(self, *, user_id: str, month: int, days: Collection[int], before_year: int) -> Sequence[Note]:
        parameters = {"user_id": user_id, "month": month, "days": list(days), "before_year": before_year}
        return [note_from_row(row, tag_names(row.tag_list)) for row in self._session.execute(WITH_MEMO_DAY, parameters)]

    def with_memo_dates_between(self, *, user_id: str, first: date, last: date) -> Sequence[Note]:
        rows = self._session.execute(WITH_MEMO_DATES_BETWEEN, {"user_id": user_id, "first": first, "last": last})
        return [note_from_row(row, tag_names(row.tag_list)) for row in rows]

    def count_by_memo_date(self, *, user_id: str, until: date) -> Sequence[tuple[date, int]]:
        rows = self._session.execute(COUNT_BY_MEMO_DATE, {"user_id": user_id, "until": until})
        return [(memo_date, count) for memo_date, count in rows]

    def count_for_user(self, user_id: str) -> int:
        return self._session.scalar(COUNT_FOR_USER, {"user_id": user_id}) or 0

    def _page(
        self, statements: tuple[Select[Any], Select[Any]], parameters: dict[str, Any], page: PageRequest
    ) -> Page[Note]:
        page_statement, count_statement = statements
        rows = self._session.execute(page_statement, {**parameters, "limit": page.limit, "offset": page.offset}).all()
        # A page past the end has no row to carry the total: ask for it alone.
        total_count = rows[0].total_count if rows else self._session.scalar(count_statement, parameters) or 0
        items = [note_from_row(row, tag_names(row.tag_list)) for row in rows]
        return Page(items=items, total_count=total_count, page=page.page)

    def _tag_names(self, note_ids: Sequence[str]) -> dict[str, list[str]]:
        """The tag names of each note, in the note's order: one statement for any number of notes."""
        return {note_id: list(tag_ids) for note_id, tag_ids in self._tags_of(note_ids).items()}

    def _tags_of(self, note_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The tags of each note as ``{name: id}`` in the note's order (a note without any: ``{}``)."""
        found: dict[str, dict[str, str]] = {note_id: {} for note_id in note_ids}
        for note_id, name, tag_id in self._session.execute(TAGS_OF_NOTES, {"note_ids": list(note_ids)}):
            found[note_id][name] = tag_id
        return found

    def _link(self, note: Note, tag_ids: dict[str, str]) -> None:
        if note.tags:
            self._session.execute(INSERT_LINKS, note_tag_links(note, tag_ids))

    def _lock_tags(self, *, user_id: str, names: Collection[str]) -> dict[str, str]:
        """Lock the user's tags called ``names``, creating the missing ones; their ids by name.

        Every write takes its tag locks here, before it touches any link. First the tags that exist,
        all at once and in name order, by a locking read: it waits for a row being written or removed
        and sees the latest committed rows. Most writes name tags their user has already: that one
        statement is all. Then the missing ones, in name order, by an upsert (another writer may be
        creating the same name: it waits for that one and locks its row) and a locking read of their
        ids. A writer creates tags only once it holds all its existing ones, and creates them in name
        order, so concurrent writers sharing tags queue instead of deadlocking.
        """
        if not names:
            return {}
        ids = self._locked_tag_ids_by_name(user_id, names)
        missing = sorted(name for name in names if name not in ids)
        if missing:
            rows = [{"id": self._ids.new_id(), "user_id": user_id, "name": name} for name in missing]
            self._session.execute(_upsert_tags(self._session), rows)
            ids.update(self._locked_tag_ids_by_name(user_id, missing))
        return ids

    def _locked_tag_ids_by_name(self, user_id: str, names: Collection[str]) -> dict[str, str]:
        return dict(self._session.execute(TAGS_LOCKED, {"user_id": user_id, "names": list(names)}).all())


class SqlAlchemyReviewScheduleRepository(ReviewScheduleRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, schedule: ReviewSchedule) -> None:
        self._session.execute(INSERT_SCHEDULES, schedule_values(schedule))

    def add_many(self, schedules_to_add: Sequence[ReviewSchedule]) -> None:
        for batch in _batches(schedules_to_add, INSERT_BATCH):
            self._session.execute(INSERT_SCHEDULES, [schedule_values(schedule) for schedule in batch])

    def get_for_update(self, note_id: str) -> ReviewSchedule | None:
        row = self._session.execute(SCHEDULE_FOR_UPDATE, {"note_id": note_id}).first()
        return None if row is None else schedule_from_row(row)

    def save(self, schedule: ReviewSchedule) -> None:
        values = schedule_values(schedule)
        del values["note_id"]
        self._session.execute(UPDATE_SCHEDULE, {"b_note_id": schedule.note_id, **values})

    def due_for_user(self, *, user_id: str, now: datetime, limit: int) -> Sequence[DueNote]:
        rows = self._session.execute(DUE_FOR_USER, {"user_id": user_id, "now": now, "limit": limit})
        return [
            DueNote(note=note_from_row(row, tag_names(row.tag_list)), schedule=schedule_from_row(row)) for row in rows
        ]

    def count_due(self, *, user_id: str, now: datetime) -> int:
        return self._session.scalar(COUNT_DUE, {"user_id": user_id, "now": now}) or 0


class SqlAlchemyDigestWeekRepository(DigestWeekRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, *, user_id: str, week: str) -> None:
        table = DigestWeekRow.__table__
        if self._session.get_bind().dialect.name == "sqlite":
            statement = sqlite.insert(table).on_conflict_do_update(index_elements=["user_id"], set_={"week": week})
        else:
            upsert = mysql.insert(table)
            statement = upsert.on_duplicate_key_update(week=upsert.inserted.week)
        self._session.execute(statement.values(user_id=user_id, week=week))


class SqlAlchemyTagRepository(TagRepository):
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, *, user_id: str, name: str) -> Tag | None:
        if _padded(name):
            return None
        row = self._session.execute(
            select(tags.c.name, func.count(note_tags.c.note_id))
            .outerjoin(note_tags, note_tags.c.tag_id == tags.c.id)
            .where(tags.c.user_id == user_id, tags.c.name == name)
            .group_by(tags.c.id, tags.c.name)
        ).first()
        return None if row is None else tag_from_row(row[0], row[1])

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
        if names:
            self._session.execute(DELETE_UNUSED_TAGS, {"user_id": user_id, "names": list(names)})


class SqlAlchemyNoteImportRepository(NoteImportRepository):
    """Source ids are kept as SHA-256 digests: any string the file gave, of any length, compared exactly."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def already_imported(self, *, user_id: str, source_ids: Collection[str]) -> set[str]:
        by_digest = {_digest(source_id): source_id for source_id in source_ids}
        found: set[str] = set()
        for batch in _batches(sorted(by_digest), LOOKUP_BATCH):
            rows = self._session.execute(
                select(note_imports.c.source_digest).where(
                    note_imports.c.user_id == user_id, note_imports.c.source_digest.in_(batch)
                )
            )
            found.update(by_digest[digest] for digest in rows.scalars())
        return found

    def remember(self, *, user_id: str, imported: Mapping[str, str]) -> None:
        rows = [
            {"user_id": user_id, "source_digest": _digest(source_id), "note_id": note_id}
            for source_id, note_id in imported.items()
        ]
        for batch in _batches(rows, INSERT_BATCH):
            self._session.execute(insert(note_imports), list(batch))


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _digest(source_id: str) -> str:
    return hashlib.sha256(source_id.encode("utf-8", "surrogatepass")).hexdigest()


def _flat(lists: Iterable[Iterable[str]]) -> list[str]:
    return [name for names in lists for name in names]


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
