"""``GET /shared/{token}`` answers JSON only when ``Accept`` ranks application/json above text/html."""

import pytest

from note.interface.dependencies import accept_quality, prefers_json


@pytest.mark.parametrize(
    ("accept", "media_type", "quality"),
    [
        ("application/json", "application/json", 1.0),
        ("application/json;q=0.4", "application/json", 0.4),
        ("application/*;q=0.3, application/json;q=0.7", "application/json", 0.7),
        ("application/json;q=0.7, application/*;q=0.3", "application/json", 0.7),
        ("*/*;q=0.2, text/*;q=0.5", "text/html", 0.5),
        ("text/html;level=1;q=0.6", "text/html", 0.6),
        ("TEXT/HTML", "text/html", 1.0),
        ("application/json;q=2", "application/json", 1.0),
        ("application/json;q=nope", "application/json", 0.0),
        ("image/png", "text/html", 0.0),
        ("", "text/html", 0.0),
    ],
)
def test_the_most_specific_range_gives_the_quality(accept: str, media_type: str, quality: float) -> None:
    assert accept_quality(accept, media_type) == quality


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        (None, False),
        ("*/*", False),
        ("text/html", False),
        ("application/json, text/html", False),
        ("application/json;q=0.9, text/html;q=0.9", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json", True),
        ("application/json, */*;q=0.5", True),
        ("text/html;q=0.1, application/json", True),
        ("application/*", True),
    ],
)
def test_json_needs_a_strictly_higher_rank(accept: str | None, json: bool) -> None:
    assert prefers_json(accept) is json
