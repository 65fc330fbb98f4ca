"""The note app's pure rules: titles, content, memo dates, tag names, and the entity."""

from datetime import UTC, date, datetime, timedelta

import pytest

from note.domain.errors import InvalidNoteInput
from note.domain.note import (
    Note,
    check_content,
    check_memo_date,
    check_title,
    format_memo_date,
    parse_memo_date,
)
from note.domain.tag import Tag, by_name, check_tag_name, normalize_tag_names

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def make_note(**overrides: object) -> Note:
    fields: dict = {
        "note_id": "01J00000000000000000000001",
        "user_id": "01J0000000000000000000USER",
        "title": "SQLAlchemy select()",
        "content": "select(User).where(User.id == 1)",
        "memo_date": date(2026, 11, 27),
        "tags": ["python", "sql"],
        "now": NOW,
    }
    fields.update(overrides)
    return Note.create(**fields)


@pytest.mark.parametrize("title", ["a", "x" * 64, "가" * 64, "😀" * 64, "오늘 배운 것 🎉", " padded "])
def test_titles_of_1_to_64_characters_are_accepted_as_given(title: str) -> None:
    assert check_title(title) == title


@pytest.mark.parametrize(
    "title",
    ["", "x" * 65, "가" * 65, "😀" * 65, "   ", "line\nbreak", "nul\x00"],
    ids=["empty", "65-ascii", "65-korean", "65-emoji", "blank", "newline", "nul"],
)
def test_bad_titles_are_refused(title: str) -> None:
    with pytest.raises(InvalidNoteInput):
        check_title(title)


@pytest.mark.parametrize("content", ["a", "x" * 20_000, "가" * 20_000, "😀" * 20_000, "line 1\n\tline 2\r\n"])
def test_content_of_1_to_20000_characters_is_accepted_as_given(content: str) -> None:
    assert check_content(content) == content


@pytest.mark.parametrize(
    "content",
    ["", "x" * 20_001, "😀" * 20_001, " \n\t ", "a\x00b"],
    ids=["empty", "20001", "20001-emoji", "blank", "nul"],
)
def test_bad_content_is_refused(content: str) -> None:
    with pytest.raises(InvalidNoteInput):
        check_content(content)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261127", date(2026, 11, 27)),
        ("20240229", date(2024, 2, 29)),
        ("00010101", date(1, 1, 1)),
        ("99991231", date(9999, 12, 31)),
    ],
)
def test_memo_dates_are_real_calendar_dates_written_yyyymmdd(text: str, expected: date) -> None:
    assert parse_memo_date(text) == expected
    assert check_memo_date(text) == text
    assert format_memo_date(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "20230230",
        "20230229",
        "20231301",
        "20230001",
        "20230100",
        "00000101",
        "2023-01-01",
        "abc",
        "",
        "2023011",
        "202301011",
        "２０２３０１０１",
        "2023010 ",
        " 20230101",
    ],
)
def test_anything_else_is_not_a_memo_date(text: str) -> None:
    with pytest.raises(InvalidNoteInput):
        parse_memo_date(text)


def test_tag_names_are_stored_trimmed() -> None:
    assert check_tag_name("  study  ") == "study"
    assert check_tag_name("\u3000공부\u3000") == "공부"
    assert check_tag_name("two words") == "two words"


@pytest.mark.parametrize("name", ["a", "x" * 32, "가" * 32, "😀" * 32, " " + "x" * 32 + " ", "c++", "ü"])
def test_tag_names_of_1_to_32_characters_after_trimming_are_accepted(name: str) -> None:
    assert check_tag_name(name) == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 33,
        "가" * 33,
        "a/b",
        "/",
        "tab\there",
        "new\nline",
        "nul\x00",
        "bell\x07",
        "del\x7f",
        "c1\x85",
        "study\n",
        "\tstudy",
    ],
)
def test_bad_tag_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNoteInput):
        check_tag_name(name)


def test_tag_names_compare_exactly_and_repeats_collapse_in_first_seen_order() -> None:
    names = normalize_tag_names(["b", "Study", "study", " study", "stüdy", "b", "a"])

    assert names == ["b", "Study", "study", "stüdy", "a"]


def test_a_note_has_at_most_32_distinct_tags() -> None:
    thirty_two = [f"tag{i}" for i in range(32)]

    assert normalize_tag_names([*thirty_two, *thirty_two, " tag0 "]) == thirty_two
    with pytest.raises(InvalidNoteInput):
        normalize_tag_names([*thirty_two, "one more"])


def test_tags_order_by_name_in_code_point_order() -> None:
    names = ["b", "B", "a", "Z", "é", "e", "한국어", "😀", "10", "2"]

    ordered = by_name(Tag(name=name, note_count=1) for name in names)

    assert [tag.name for tag in ordered] == ["10", "2", "B", "Z", "a", "b", "e", "é", "한국어", "😀"]


def test_a_new_note_is_at_version_1_with_its_rules_applied() -> None:
    note = make_note(tags=[" python ", "python", "sql"])

    assert note.version == 1
    assert note.tags == ["python", "sql"]
    assert note.created_at == note.updated_at == NOW


@pytest.mark.parametrize(
    "overrides",
    [{"title": ""}, {"content": "x" * 20_001}, {"tags": ["a/b"]}, {"tags": [f"t{i}" for i in range(33)]}],
)
def test_a_note_breaking_a_rule_is_not_created(overrides: dict) -> None:
    with pytest.raises(InvalidNoteInput):
        make_note(**overrides)


def test_update_changes_what_is_given_and_bumps_the_version() -> None:
    note = make_note()
    later = NOW + timedelta(minutes=5)

    note.update(now=later, title="New title", tags=["sql", " rust "])

    assert (note.title, note.content, note.tags) == ("New title", "select(User).where(User.id == 1)", ["sql", "rust"])
    assert note.memo_date == date(2026, 11, 27)
    assert note.version == 2
    assert (note.created_at, note.updated_at) == (NOW, later)


def test_update_with_nothing_given_is_still_a_new_version() -> None:
    note = make_note()

    note.update(now=NOW + timedelta(seconds=1))

    assert note.version == 2
    assert note.tags == ["python", "sql"]


def test_update_with_empty_tags_clears_them() -> None:
    note = make_note()

    note.update(now=NOW, tags=[])

    assert note.tags == []


def test_a_refused_update_changes_nothing() -> None:
    note = make_note()

    with pytest.raises(InvalidNoteInput):
        note.update(now=NOW + timedelta(minutes=1), title="fine", tags=["bad/name"])

    assert (note.title, note.tags, note.version, note.updated_at) == ("SQLAlchemy select()", ["python", "sql"], 1, NOW)


def test_dropped_tags_are_those_no_longer_carried() -> None:
    note = make_note(tags=["a", "b", "c"])
    previous = list(note.tags)

    note.update(now=NOW, tags=["c", "d"])

    assert note.tags_dropped_since(previous) == ["a", "b"]


def test_a_note_belongs_to_its_user_only() -> None:
    note = make_note(user_id="01J0000000000000000000USER")

    assert note.belongs_to("01J0000000000000000000USER")
    assert not note.belongs_to("01J000000000000000000OTHER")
