"""The note's ETag and how an If-Match header is read (pure functions, no app)."""

import pytest

from note.interface.dependencies import etag, versions_in_if_match


def test_the_etag_is_the_version_as_a_strong_entity_tag() -> None:
    assert etag(3) == '"3"'


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        ('"3"', {3}),
        ('W/"3"', {3}),
        (' "2" , "3" ', {2, 3}),
        ('"2", W/"5"', {2, 5}),
        ("3", set()),
        ('"three"', set()),
        ('w/"3"', set()),
        ('"3', set()),
        ('"-1"', set()),
        ("", set()),
        ('"1", junk', {1}),
    ],
)
def test_if_match_names_versions_and_anything_else_matches_none(header: str, versions: set[int]) -> None:
    assert versions_in_if_match(header) == versions


@pytest.mark.parametrize("header", ["*", " * "])
def test_a_star_accepts_any_current_version(header: str) -> None:
    assert versions_in_if_match(header) is None


def test_the_etag_of_a_version_matches_it() -> None:
    assert versions_in_if_match(etag(42)) == {42}
