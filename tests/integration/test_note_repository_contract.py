"""One contract for the note app's repositories and unit of work, run against
the fakes (tests/fakes/note.py) and the SQLAlchemy versions on SQLite and
MariaDB, so the fakes the unit tests trust cannot drift from the real thing.

Every test works with fresh users, so the shared database's other rows never
show up in what is listed or counted.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.pagination import PageRequest
from common.ulid_ids import UlidIdGenerator
from database.engine import build_engine, build_session_factory
from note.application.ports import NoteUnitOfWork
from note.domain.note import Note
from note.domain.review import ReviewSchedule, ReviewState
from note.domain.search import NoteSearch, NoteSort
from note.domain.tag import Tag
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork
from tests.fakes.note import FakeNoteUnitOfWork
from tests.support.notes import SHARE_CIPHER, insert_user

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
T0 = datetime(2026, 11, 27, 9, 0, 0, 123456, tzinfo=UTC)
IDS = UlidIdGenerator()


@dataclass
class Store:
    """Units of work over one store (a fake's state or a real database), and users in it."""

    fake: FakeNoteUnitOfWork | None = None
    session_factory: sessionmaker[Session] | None = None

    def uow(self) -> NoteUnitOfWork:
        if self.fake is not None:
            return self.fake
        assert self.session_factory is not None
        return SqlAlchemyNoteUnitOfWork(self.session_factory, IDS, share_cipher=SHARE_CIPHER)

    def new_user(self) -> str:
        return IDS.new_id() if self.session_factory is None else insert_user(self.session_factory)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Store:
    if request.param == "fake":
        return Store(fake=FakeNoteUnitOfWork())
    url = request.getfixturevalue(f"{request.param}_url")
    if url not in engines:
        engines[url] = build_engine(url)
    return Store(session_factory=build_session_factory(engines[url]))


def make_note(user_id: str, *, created_at: datetime = T0, **fields: object) -> Note:
    values: dict = {
        "id": IDS.new_id(),
        "user_id": user_id,
        "title": "오늘 배운 것 🎉",
        "content": "한국어 본문 and emoji 😀👨‍👩‍👧",
        "memo_date": date(2026, 11, 27),
        "tags": [],
        "created_at": created_at,
        "updated_at": created_at,
    }
    values.update(fields)
    return Note(**values)


def add(store: Store, *notes: Note) -> None:
    with store.uow() as uow:
        for note in notes:
            uow.notes.add(note)
        uow.commit()


def load(store: Store, note_id: str) -> Note | None:
    with store.uow() as uow:
        return uow.notes.get(note_id)


def tags_of(store: Store, user_id: str) -> list[Tag]:
    with store.uow() as uow:
        return list(uow.tags.list_for_user(user_id))


def test_an_added_note_reads_back_the_same(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["zeta", "알파", "😀", "Study", "study", "stüdy"], memo_date=date(1, 1, 1))

    add(store, note)

    assert load(store, note.id) == note
    with store.uow() as uow:
        assert uow.notes.get_for_update(note.id) == note


def test_absent_notes_are_none(store: Store) -> None:
    with store.uow() as uow:
        assert uow.notes.get("01J0000000000000000ABSENT00") is None
        assert uow.notes.get_for_update("01J0000000000000000ABSENT00") is None


def test_what_is_not_committed_is_rolled_back(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["never"])

    with store.uow() as uow:
        uow.notes.add(note)

    assert load(store, note.id) is None
    assert tags_of(store, user) == []


def test_update_at_the_expected_version_replaces_the_note(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a", "b", "c"])
    add(store, note)
    changed = make_note(
        user,
        id=note.id,
        title="new",
        content="new content",
        memo_date=date(2024, 2, 29),
        tags=["c", "d", "a"],
        version=2,
        updated_at=T0 + timedelta(minutes=1),
    )

    with store.uow() as uow:
        assert uow.notes.update(changed, expected_version=1) is True
        uow.commit()

    assert load(store, note.id) == changed


def test_update_at_another_version_changes_nothing(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a"])
    add(store, note)
    changed = make_note(user, id=note.id, title="lost", tags=["b"], version=3)

    with store.uow() as uow:
        assert uow.notes.update(changed, expected_version=2) is False
        uow.commit()

    assert load(store, note.id) == note
    assert tags_of(store, user) == [Tag(name="a", note_count=1)]


def test_update_of_an_absent_note_is_false(store: Store) -> None:
    user = store.new_user()

    with store.uow() as uow:
        assert uow.notes.update(make_note(user, version=2), expected_version=1) is False


def test_delete_removes_the_note_and_its_links_but_not_its_tags(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, tags=["a"])
    add(store, note)

    with store.uow() as uow:
        uow.notes.delete(note)
        uow.commit()

    assert load(store, note.id) is None
    assert tags_of(store, user) == [Tag(name="a", note_count=0)]


def test_lists_are_the_users_notes_newest_first_ties_by_id(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    same_time = [make_note(user, created_at=T0 + timedelta(seconds=5)) for _ in range(3)]
    notes = [
        make_note(user, created_at=T0),
        make_note(user, created_at=T0 + timedelta(microseconds=1)),
        *same_time,
        make_note(user, created_at=T0 + timedelta(days=1)),
    ]
    add(store, *notes, make_note(other, created_at=T0 + timedelta(days=9)))
    expected = sorted(notes, key=lambda note: (note.created_at, note.id), reverse=True)

    with store.uow() as uow:
        pages = [uow.notes.page_for_user(user_id=user, page=PageRequest(page=n, items_per_page=4)) for n in (1, 2, 3)]

    assert [note.id for page in pages for note in page.items] == [note.id for note in expected]
    assert [len(page.items) for page in pages] == [4, 2, 0]
    assert [page.total_count for page in pages] == [6, 6, 6]
    assert [page.page for page in pages] == [1, 2, 3]


def test_tag_lists_compare_names_exactly_and_stay_within_the_user(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    older = make_note(user, tags=["study"], created_at=T0)
    newer = make_note(user, tags=["Study", "study"], created_at=T0 + timedelta(seconds=1))
    umlaut = make_note(user, tags=["stüdy"])
    add(store, older, newer, umlaut, make_note(other, tags=["study"], created_at=T0 + timedelta(days=1)))

    with store.uow() as uow:
        study = uow.notes.page_for_tag(user_id=user, tag_name="study", page=PageRequest()).items
        counts = {
            name: uow.notes.page_for_tag(user_id=user, tag_name=name, page=PageRequest()).total_count
            for name in ("study", "Study", "stüdy", "STUDY", "study ", "unknown")
        }
        second_page = uow.notes.page_for_tag(
            user_id=user, tag_name="study", page=PageRequest(page=2, items_per_page=1)
        ).items

    assert [note.id for note in study] == [newer.id, older.id]
    assert study[0] == newer
    assert counts == {"study": 2, "Study": 1, "stüdy": 1, "STUDY": 0, "study ": 0, "unknown": 0}
    assert [note.id for note in second_page] == [older.id]


def test_tags_are_listed_per_user_with_counts_in_code_point_order(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    add(
        store,
        make_note(user, tags=["b", "B", "é", "한국어"]),
        make_note(user, tags=["a", "b", "😀", "e", "Z"]),
        make_note(other, tags=["b", "other"]),
    )

    assert tags_of(store, user) == [
        Tag(name="B", note_count=1),
        Tag(name="Z", note_count=1),
        Tag(name="a", note_count=1),
        Tag(name="b", note_count=2),
        Tag(name="e", note_count=1),
        Tag(name="é", note_count=1),
        Tag(name="한국어", note_count=1),
        Tag(name="😀", note_count=1),
    ]
    assert tags_of(store, other) == [Tag(name="b", note_count=1), Tag(name="other", note_count=1)]


def test_remove_unused_removes_only_the_users_named_unused_tags(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    dropped = make_note(user, tags=["gone", "kept-by-other-note", "not-asked"])
    add(store, dropped, make_note(user, tags=["kept-by-other-note"]), make_note(other, tags=["gone"]))
    with store.uow() as uow:
        uow.notes.delete(dropped)
        uow.commit()

    with store.uow() as uow:
        uow.tags.remove_unused(user_id=user, names=["gone", "kept-by-other-note", "never-existed"])
        uow.tags.remove_unused(user_id=user, names=[])
        uow.commit()

    assert tags_of(store, user) == [Tag(name="kept-by-other-note", note_count=1), Tag(name="not-asked", note_count=0)]
    assert tags_of(store, other) == [Tag(name="gone", note_count=1)]


def test_a_tag_name_reused_after_removal_is_a_fresh_tag(store: Store) -> None:
    user = store.new_user()
    first = make_note(user, tags=["again"])
    add(store, first)
    with store.uow() as uow:
        uow.notes.delete(first)
        uow.tags.remove_unused(user_id=user, names=["again"])
        uow.commit()

    second = make_note(user, tags=["again"])
    add(store, second)

    assert load(store, second.id) == second
    assert tags_of(store, user) == [Tag(name="again", note_count=1)]


# --- remembering: schedules, memo-day queries ----------------------------------------------------


def add_scheduled(store: Store, note: Note, *, due_at: datetime) -> ReviewSchedule:
    schedule = ReviewSchedule(note_id=note.id, due_at=due_at)
    with store.uow() as uow:
        uow.notes.add(note)
        uow.schedules.add(schedule)
        uow.commit()
    return schedule


def test_a_schedule_reads_back_and_saves(store: Store) -> None:
    note = make_note(store.new_user())
    schedule = add_scheduled(store, note, due_at=T0 + timedelta(days=1))

    with store.uow() as uow:
        assert uow.schedules.get_for_update(note.id) == schedule
        schedule.state, schedule.step, schedule.reps, schedule.lapses = ReviewState.REVIEW, None, 3, 1
        schedule.stability, schedule.difficulty, schedule.last_reviewed_at = 12.5, 4.25, T0
        uow.schedules.save(schedule)
        uow.commit()

    with store.uow() as uow:
        assert uow.schedules.get_for_update(note.id) == schedule
        assert uow.schedules.get_for_update("01J0000000000000000ABSENT00") is None


def test_due_notes_are_the_users_most_overdue_first_counted_beyond_the_limit(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    late = make_note(user, tags=["x"])
    later = make_note(user)
    not_yet = make_note(user)
    add_scheduled(store, later, due_at=T0 - timedelta(hours=1))
    add_scheduled(store, late, due_at=T0 - timedelta(days=2))
    add_scheduled(store, not_yet, due_at=T0 + timedelta(seconds=1))
    add_scheduled(store, make_note(other), due_at=T0 - timedelta(days=9))

    with store.uow() as uow:
        due = uow.schedules.due_for_user(user_id=user, now=T0, limit=1)
        assert uow.schedules.count_due(user_id=user, now=T0) == 2
        assert [entry.note for entry in due] == [late]
        assert due[0].schedule.due_at == T0 - timedelta(days=2)
        assert [e.note.id for e in uow.schedules.due_for_user(user_id=user, now=T0, limit=10)] == [late.id, later.id]


def test_a_schedule_goes_with_its_note(store: Store) -> None:
    note = make_note(store.new_user())
    add_scheduled(store, note, due_at=T0)

    with store.uow() as uow:
        uow.notes.delete(note)
        uow.commit()

    with store.uow() as uow:
        assert uow.schedules.get_for_update(note.id) is None
        assert uow.schedules.count_due(user_id=note.user_id, now=T0) == 0


def test_memo_day_queries_match_month_and_days_of_earlier_years_newest_first(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    leap = make_note(user, memo_date=date(2024, 2, 29))
    feb28_old = make_note(user, memo_date=date(2023, 2, 28))
    feb28 = make_note(user, memo_date=date(2024, 2, 28))
    same_year = make_note(user, memo_date=date(2025, 2, 28))
    add(store, leap, feb28_old, feb28, same_year, make_note(user, memo_date=date(2024, 3, 1)))
    add(store, make_note(other, memo_date=date(2024, 2, 28)))

    with store.uow() as uow:
        found = uow.notes.with_memo_day(user_id=user, month=2, days=[28, 29], before_year=2025)
        assert [note.id for note in found] == [leap.id, feb28.id, feb28_old.id]
        only_leap = uow.notes.with_memo_day(user_id=user, month=2, days=[29], before_year=2028)
        assert [note.id for note in only_leap] == [leap.id]


def test_memo_date_counts_and_ranges(store: Store) -> None:
    user = store.new_user()
    add(
        store,
        make_note(user, memo_date=date(2026, 1, 31)),
        make_note(user, memo_date=date(2026, 2, 1)),
        make_note(user, memo_date=date(2026, 2, 1)),
        make_note(user, memo_date=date(2026, 3, 1)),
    )

    with store.uow() as uow:
        assert uow.notes.count_for_user(user) == 4
        assert list(uow.notes.count_by_memo_date(user_id=user, until=date(2026, 2, 28))) == [
            (date(2026, 1, 31), 1),
            (date(2026, 2, 1), 2),
        ]
        between = uow.notes.with_memo_dates_between(user_id=user, first=date(2026, 2, 1), last=date(2026, 3, 1))
        assert [note.memo_date for note in between] == [date(2026, 2, 1), date(2026, 2, 1), date(2026, 3, 1)]


# Finding notes (SPEC §9): the same answers on the fake, SQLite and MariaDB, whatever the collation.


def found(store: Store, user_id: str, search: NoteSearch, page: PageRequest | None = None) -> list[str]:
    """The ids of every note ``search`` keeps, in its order (or of one page), checking ``total_count``."""
    with store.uow() as uow:
        if page is not None:
            return [note.id for note in uow.notes.page_for_user(user_id=user_id, page=page, search=search).items]
        listed = uow.notes.page_for_user(user_id=user_id, page=PageRequest(items_per_page=100), search=search)
    assert listed.total_count == len(listed.items)
    return [note.id for note in listed.items]


def searched(store: Store, user_id: str, q: str) -> set[str]:
    return set(found(store, user_id, NoteSearch.parse(q=q)))


def test_a_term_is_a_substring_of_title_content_or_a_tag_name_after_folding(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    titled = make_note(user, title="PYTHON generators", content="plain")
    korean = make_note(user, title="오늘", content="제너레이터를 배웠다")
    tagged = make_note(user, title="t", content="c", tags=["Study", "straße"])
    strasse = make_note(user, title="STRASSE", content="c")
    fullwidth = make_note(user, title="ｆｕｌｌｗｉｄｔｈ ＳＱＬ", content="c")
    accents = make_note(user, title="café", content="c")  # precomposed é
    combining = make_note(user, title="cafe\u0301 au lait", content="c")  # e + combining acute
    emoji = make_note(user, title="party", content="family 👨‍👩‍👧 and 🎉")
    add(store, titled, korean, tagged, strasse, fullwidth, accents, combining, emoji)
    add(store, make_note(other, title="python strasse 제너레이터 study", content="café 🎉"))

    assert searched(store, user, "python") == {titled.id}
    assert searched(store, user, "Python GENERATORS") == {titled.id}
    assert searched(store, user, "제너레이터") == {korean.id}
    assert searched(store, user, "레이터를") == {korean.id}
    assert searched(store, user, "study") == searched(store, user, "STUDY") == {tagged.id}
    assert searched(store, user, "straße") == searched(store, user, "strasse") == {tagged.id, strasse.id}
    assert searched(store, user, "sql") == searched(store, user, "ＳＱＬ") == {fullwidth.id}
    assert searched(store, user, "café") == searched(store, user, "cafe\u0301") == {accents.id, combining.id}
    assert searched(store, user, "cafe") == set()  # accents count
    assert searched(store, user, "CAFÉ") == {accents.id, combining.id}
    assert searched(store, user, "🎉") == {emoji.id}
    assert searched(store, user, "👨‍👩‍👧") == {emoji.id}
    assert searched(store, user, "absent") == set()


def test_every_term_must_match_somewhere_but_never_across_two_fields(store: Store) -> None:
    user = store.new_user()
    both = make_note(user, title="fastapi depends", content="resolved per request", tags=["python"])
    one = make_note(user, title="fastapi routing", content="paths")
    add(store, both, one)

    assert searched(store, user, "fastapi python") == {both.id}
    assert searched(store, user, "fastapi") == {both.id, one.id}
    assert searched(store, user, "fastapi   nothing") == set()
    # The title ends in "depends" and the content starts with "resolved": no term spans the two.
    assert searched(store, user, "dependsresolved") == set()
    assert searched(store, user, "requestpython") == set()


def test_like_wildcards_backslashes_stars_and_quotes_are_literal(store: Store) -> None:
    user = store.new_user()
    percent = make_note(user, title="100% sure", content="c")
    underscore = make_note(user, title="snake_case", content="c")
    backslash = make_note(user, title="C:\\temp", content="c")
    star = make_note(user, title="a*b", content="c")
    quotes = make_note(user, title='it\'s "quoted"', content="c")
    plain = make_note(user, title="100 percent snakeXcase C:temp ab its", content="c")
    add(store, percent, underscore, backslash, star, quotes, plain)

    assert searched(store, user, "%") == {percent.id}
    assert searched(store, user, "0%") == {percent.id}
    assert searched(store, user, "_") == {underscore.id}
    assert searched(store, user, "snake_case") == {underscore.id}
    assert searched(store, user, "\\") == {backslash.id}
    assert searched(store, user, ":\\t") == {backslash.id}
    assert searched(store, user, "*") == {star.id}
    assert searched(store, user, "'") == {quotes.id}
    assert searched(store, user, '"quoted"') == {quotes.id}
    assert searched(store, user, "%%") == set()


def test_tag_filters_need_every_tag_exactly(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    upper = make_note(user, tags=["Study"])
    lower = make_note(user, tags=["study", "python"])
    both = make_note(user, tags=["python", "study", "Study"])
    umlaut = make_note(user, tags=["stüdy"])
    add(store, upper, lower, both, umlaut, make_note(other, tags=["study", "python"]))

    def tagged(*names: str) -> set[str]:
        return set(found(store, user, NoteSearch.parse(tags=names)))

    assert tagged("study") == {lower.id, both.id}
    assert tagged("Study") == {upper.id, both.id}
    assert tagged("stüdy") == {umlaut.id}
    assert tagged("STUDY") == set()
    assert tagged(" study ") == {lower.id, both.id}
    assert tagged("study", "python") == {lower.id, both.id}
    assert tagged("study", "Study") == {both.id}
    assert tagged("study", "unknown") == set()
    assert tagged("a/b") == set()


def test_the_date_range_is_inclusive(store: Store) -> None:
    user = store.new_user()
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3), date(2026, 2, 1)]
    notes = [make_note(user, memo_date=day) for day in days]
    add(store, *notes)

    def between(start: date | None, end: date | None) -> set[str]:
        return set(found(store, user, NoteSearch.parse(memo_from=start, memo_to=end)))

    assert between(date(2026, 1, 2), date(2026, 1, 3)) == {notes[1].id, notes[2].id}
    assert between(date(2026, 1, 2), date(2026, 1, 2)) == {notes[1].id}
    assert between(date(2026, 1, 3), None) == {notes[2].id, notes[3].id}
    assert between(None, date(2026, 1, 1)) == {notes[0].id}
    assert between(date(2026, 1, 4), date(2026, 1, 31)) == set()


@pytest.mark.parametrize("sort", list(NoteSort))
def test_every_sort_breaks_ties_by_id_in_its_direction(store: Store, sort: NoteSort) -> None:
    user = store.new_user()
    notes = []
    for step in range(6):
        # Two notes share each created_at, memo_date and updated_at, and the three orders differ.
        notes.append(
            make_note(
                user,
                created_at=T0 + timedelta(seconds=step // 2),
                memo_date=date(2026, 1, 10 - step // 2),
                updated_at=T0 + timedelta(days=1, seconds=(step // 2 + 1) % 3),
            )
        )
    add(store, *notes)
    expected = sorted(notes, key=lambda note: (getattr(note, sort.field), note.id), reverse=sort.descending)

    assert found(store, user, NoteSearch.parse(sort=sort)) == [note.id for note in expected]
    pages = [found(store, user, NoteSearch.parse(sort=sort), PageRequest(page=n, items_per_page=4)) for n in (1, 2)]
    assert pages == [[note.id for note in expected[:4]], [note.id for note in expected[4:]]]


def test_conditions_combine_with_and_and_page_with_the_true_total(store: Store) -> None:
    user = store.new_user()
    matching = [
        make_note(user, title=f"Python {n}", tags=["study"], memo_date=date(2026, 3, n + 1), created_at=T0)
        for n in range(5)
    ]
    add(
        store,
        *matching,
        make_note(user, title="Python wrong tag", tags=["other"], memo_date=date(2026, 3, 2)),
        make_note(user, title="Python too late", tags=["study"], memo_date=date(2026, 4, 1)),
        make_note(user, title="Rust", tags=["study"], memo_date=date(2026, 3, 2)),
    )
    search = NoteSearch.parse(
        q="python", tags=["study"], memo_from=date(2026, 3, 1), memo_to=date(2026, 3, 31), sort=NoteSort.MEMO_DATE_ASC
    )

    with store.uow() as uow:
        pages = [uow.notes.page_for_user(user_id=user, page=PageRequest(page=n, items_per_page=2), search=search)
                 for n in (1, 2, 3, 4)]  # fmt: skip

    assert [[note.id for note in page.items] for page in pages] == [
        [matching[0].id, matching[1].id],
        [matching[2].id, matching[3].id],
        [matching[4].id],
        [],
    ]
    assert [page.total_count for page in pages] == [5, 5, 5, 5]


def test_an_updated_note_is_found_by_its_new_text_and_no_longer_by_its_old(store: Store) -> None:
    user = store.new_user()
    note = make_note(user, title="old title", content="old content", tags=["oldtag"])
    add(store, note)
    changed = make_note(
        user, id=note.id, title="new title", content="new content", tags=["newtag"], version=2, updated_at=T0
    )
    with store.uow() as uow:
        assert uow.notes.update(changed, expected_version=1)
        uow.commit()

    for old in ("old", "oldtag"):
        assert searched(store, user, old) == set()
    for new in ("new title", "new content", "newtag"):
        assert searched(store, user, new) == {note.id}


def test_refreshing_the_search_text_of_unchanged_notes_changes_no_answer(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    note = make_note(user, title="kept", tags=["Tag"])
    add(store, note)

    with store.uow() as uow:
        uow.notes.refresh_search_text(user_id=user, note_ids=[note.id, "01J0000000000000000ABSENT00"])
        uow.notes.refresh_search_text(user_id=other, note_ids=[note.id])
        uow.notes.refresh_search_text(user_id=user, note_ids=[])
        uow.commit()

    assert searched(store, user, "kept tag") == {note.id}
    assert load(store, note.id) == note


# Export, import and tag changes (SPEC §12).


def test_add_many_reads_back_every_note_with_its_tags_in_order(store: Store) -> None:
    user = store.new_user()
    notes = [make_note(user, created_at=T0 + timedelta(seconds=n), tags=["b", f"n{n % 3}", "a"]) for n in range(7)]

    with store.uow() as uow:
        uow.notes.add_many(notes)
        uow.commit()

    assert [load(store, note.id) for note in notes] == notes
    assert [(tag.name, tag.note_count) for tag in tags_of(store, user)] == [
        ("a", 7),
        ("b", 7),
        ("n0", 3),
        ("n1", 2),
        ("n2", 2),
    ]


def test_owners_names_the_user_of_each_existing_id(store: Store) -> None:
    alice, bob = store.new_user(), store.new_user()
    hers, his = make_note(alice), make_note(bob)
    add(store, hers)
    add(store, his)

    with store.uow() as uow:
        assert uow.notes.owners({hers.id, his.id, "01J0000000000000000ABSENT00"}) == {hers.id: alice, his.id: bob}


def test_oldest_first_pages_by_keyset_through_ties(store: Store) -> None:
    user, other = store.new_user(), store.new_user()
    notes = [make_note(user, created_at=T0 + timedelta(seconds=n // 2)) for n in range(7)]
    for note in [*notes, make_note(other)]:
        add(store, note)
    expected = sorted(notes, key=lambda note: (note.created_at, note.id))

    pages: list[list[Note]] = []
    after = None
    with store.uow() as uow:
        while page := uow.notes.oldest_first(user_id=user, after=after, limit=3):
            pages.append(page)
            after = (page[-1].created_at, page[-1].id)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [note for page in pages for note in page] == expected


def test_with_tag_for_update_gives_the_users_notes_carrying_it_by_id(store: Store) -> None:
    alice, bob = store.new_user(), store.new_user()
    carrying = [make_note(alice, tags=["x", "study"]) for _ in range(3)]
    for note in [*carrying, make_note(alice, tags=["Study"]), make_note(bob, tags=["study"])]:
        add(store, note)

    with store.uow() as uow:
        locked = uow.notes.with_tag_for_update(user_id=alice, tag_name="study", also_locking=["new name"])
        assert uow.notes.with_tag_for_update(user_id=alice, tag_name="absent") == []
        assert uow.notes.with_tag_for_update(user_id=alice, tag_name="study ") == []

    assert locked == sorted(carrying, key=lambda note: note.id)


def test_a_tag_is_got_by_its_exact_name_with_its_count(store: Store) -> None:
    alice, bob = store.new_user(), store.new_user()
    add(store, make_note(alice, tags=["study"]))
    add(store, make_note(alice, tags=["study", "Study"]))
    add(store, make_note(bob, tags=["study"]))

    with store.uow() as uow:
        assert uow.tags.get(user_id=alice, name="study") == Tag(name="study", note_count=2)
        assert uow.tags.get(user_id=alice, name="Study") == Tag(name="Study", note_count=1)
        assert uow.tags.get(user_id=alice, name="stüdy") is None
        assert uow.tags.get(user_id=alice, name="study ") is None


def test_imports_are_remembered_per_user_and_forgotten_with_their_note(store: Store) -> None:
    alice, bob = store.new_user(), store.new_user()
    kept, deleted = make_note(alice), make_note(alice)
    add(store, kept)
    add(store, deleted)
    long_id = "not a ulid: " + "가" * 300
    with store.uow() as uow:
        uow.imports.remember(user_id=alice, imported={"old-1": kept.id, long_id: kept.id, "old-2": deleted.id})
        uow.commit()
    with store.uow() as uow:
        uow.notes.delete(deleted)
        uow.commit()

    with store.uow() as uow:
        assert uow.imports.already_imported(user_id=alice, source_ids={"old-1", long_id, "old-2", "OLD-1"}) == {
            "old-1",
            long_id,
        }
        assert uow.imports.already_imported(user_id=bob, source_ids={"old-1"}) == set()
