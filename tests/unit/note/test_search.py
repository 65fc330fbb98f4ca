"""The search rules of SPEC §9 in pure Python: folding, terms, filters and sorts."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from note.domain.errors import InvalidNoteInput
from note.domain.search import (
    EVERY_NOTE,
    NoteSearch,
    NoteSort,
    check_search_text,
    fold,
    search_terms,
    searchable_text,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Python", "python"),
        ("PYTHON", "python"),
        ("straße", "strasse"),
        ("STRASSE", "strasse"),
        ("ＦｕｌｌＷｉｄｔｈ", "fullwidth"),
        ("e\u0301", "é"),  # a combining accent composes
        ("é", "é"),  # and stays: accents count
        ("ᴬ", "a"),  # NFKC makes a capital, which case folding then folds
        ("ﬁ", "fi"),
        ("Ⅻ", "xii"),
        ("제너레이터를", "제너레이터를"),
        ("👨‍👩‍👧 🎉", "👨‍👩‍👧 🎉"),
        ("%_\\*'\"", "%_\\*'\""),
    ],
)
def test_fold_is_nfkc_then_case_folding(text: str, folded: str) -> None:
    assert fold(text) == folded


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_folding_twice_changes_nothing(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_the_searchable_text_is_title_content_and_tags_one_a_line() -> None:
    assert searchable_text(title="PYTHON", content="Body\ntext", tags=["Study", "Straße"]) == (
        "python\nbody\ntext\nstudy\nstrasse"
    )
    assert searchable_text(title="t", content="c", tags=[]) == "t\nc"


def test_terms_are_split_on_unicode_whitespace_folded_and_kept_once() -> None:
    assert search_terms("  Python\u3000제너레이터\tSTRASSE\nstraße python ") == ("python", "제너레이터", "strasse")
    assert search_terms("a\u00a0b\u2003c") == ("a", "b", "c")
    assert search_terms("100%_\\*'\"") == ("100%_\\*'\"",)


@pytest.mark.parametrize("q", ["", " ", "\t\n\u3000", "x" * 201, " ".join("t" * 11)])
def test_a_bad_q_is_refused(q: str) -> None:
    with pytest.raises(InvalidNoteInput):
        check_search_text(q)


@pytest.mark.parametrize("q", ["x", "x" * 200, " ".join("t" * 10), "   ten   " * 10, "😀" * 200])
def test_q_at_its_bounds_is_accepted(q: str) -> None:
    assert check_search_text(q) == q


def test_the_messages_name_the_rule() -> None:
    with pytest.raises(InvalidNoteInput, match="empty or only whitespace"):
        check_search_text("   ")
    with pytest.raises(InvalidNoteInput, match="11 terms; at most 10"):
        check_search_text(" ".join("t" * 11))
    with pytest.raises(InvalidNoteInput, match="at most 10 tag filters"):
        NoteSearch.parse(tags=[str(n) for n in range(11)])
    with pytest.raises(InvalidNoteInput, match="from must not be after to"):
        NoteSearch.parse(memo_from=date(2026, 1, 2), memo_to=date(2026, 1, 1))


def test_parse_trims_and_dedupes_tags_and_accepts_one_day_ranges() -> None:
    search = NoteSearch.parse(
        q="A a", tags=[" study ", "study", "Study"], memo_from=date(2026, 1, 1), memo_to=date(2026, 1, 1)
    )

    assert search == NoteSearch(
        terms=("a",), tags=("study", "Study"), memo_from=date(2026, 1, 1), memo_to=date(2026, 1, 1)
    )
    assert NoteSearch.parse() == EVERY_NOTE


@pytest.mark.parametrize(("tags", "impossible"), [(["ok"], False), (["a/b"], True), ([" "], True), (["x" * 33], True)])
def test_a_tag_filter_no_tag_can_satisfy_makes_the_search_impossible(tags: list[str], impossible: bool) -> None:
    assert NoteSearch.parse(tags=tags).impossible is impossible


def test_a_term_with_a_nul_matches_nothing_since_no_note_holds_one() -> None:
    assert NoteSearch.parse(q="a\x00b").impossible
    assert not NoteSearch.parse(q="ab").impossible


def test_each_sort_names_its_field_and_direction() -> None:
    assert [(sort.value, sort.field, sort.descending) for sort in NoteSort] == [
        ("-created_at", "created_at", True),
        ("created_at", "created_at", False),
        ("-memo_date", "memo_date", True),
        ("memo_date", "memo_date", False),
        ("-updated_at", "updated_at", True),
        ("updated_at", "updated_at", False),
    ]
    assert EVERY_NOTE.sort is NoteSort.CREATED_DESC
