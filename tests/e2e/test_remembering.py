"""SPEC §14 over HTTP on SQLite and MariaDB: review, on this day, stats, and the
user's timezone and digest fields (SPEC §4) they depend on."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fakes import FakeClock
from tests.support.app import new_user
from tests.support.notes import create_note

REVIEW_KEYS = {"due_at", "state", "reps", "lapses", "last_reviewed_at"}


@pytest.fixture
def clock(app: FastAPI, client: TestClient) -> Iterator[FakeClock]:
    """The app's clock, controllable; starts at the real time (login tokens stay valid)."""
    fake = FakeClock(datetime.now(UTC))
    app.state.container.clock.override(providers.Object(fake))
    yield fake
    app.state.container.clock.reset_override()


# --- user fields -------------------------------------------------------------------------------


def test_a_new_user_is_in_utc_with_no_digest(client: TestClient) -> None:
    user, headers = new_user(client)

    assert (user["timezone"], user["digest"]) == ("UTC", "off")
    assert client.get("/users/me", headers=headers).json()["timezone"] == "UTC"


def test_put_users_stores_timezone_and_digest(client: TestClient) -> None:
    _, headers = new_user(client)

    response = client.put("/users", json={"timezone": "Asia/Seoul", "digest": "weekly"}, headers=headers)

    assert response.status_code == 200
    assert (response.json()["timezone"], response.json()["digest"]) == ("Asia/Seoul", "weekly")
    me = client.get("/users/me", headers=headers).json()
    assert (me["timezone"], me["digest"]) == ("Asia/Seoul", "weekly")


@pytest.mark.parametrize(
    "body", [{"timezone": "Mars/Olympus"}, {"timezone": ""}, {"timezone": "../etc/passwd"}, {"digest": "daily"}]
)
def test_an_unknown_timezone_or_digest_is_422_and_changes_nothing(client: TestClient, body: dict) -> None:
    _, headers = new_user(client)
    before = client.get("/users/me", headers=headers).json()

    response = client.put("/users", json=body, headers=headers)

    assert response.status_code == 422
    assert client.get("/users/me", headers=headers).json() == before


# --- review ------------------------------------------------------------------------------------


def test_a_new_note_is_first_due_one_day_after_creation(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)

    assert client.get("/review/due", headers=headers).json() == {"due_count": 0, "notes": []}
    clock.advance(days=1)
    due = client.get("/review/due", headers=headers).json()

    assert due["due_count"] == 1
    [entry] = due["notes"]
    assert {key: entry[key] for key in note} == note
    assert entry["review"] == {
        "due_at": (datetime.fromisoformat(note["created_at"]) + timedelta(days=1)).isoformat(),
        "state": "learning",
        "reps": 0,
        "lapses": 0,
        "last_reviewed_at": None,
    }


def test_due_notes_are_most_overdue_first_and_due_count_ignores_limit(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    first = create_note(client, headers, title="first")
    clock.advance(minutes=5)
    second = create_note(client, headers, title="second")
    clock.advance(minutes=5)
    third = create_note(client, headers, title="third")
    clock.advance(days=2)

    all_due = client.get("/review/due", headers=headers).json()
    limited = client.get("/review/due", params={"limit": 2}, headers=headers).json()

    assert [n["id"] for n in all_due["notes"]] == [first["id"], second["id"], third["id"]]
    assert limited["due_count"] == 3
    assert [n["id"] for n in limited["notes"]] == [first["id"], second["id"]]


@pytest.mark.parametrize("limit", [0, 51, "x"])
def test_a_limit_outside_1_to_50_is_422(client: TestClient, limit: object) -> None:
    _, headers = new_user(client)

    assert client.get("/review/due", params={"limit": limit}, headers=headers).status_code == 422


def test_reviewing_reschedules_from_now(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    clock.advance(days=1)

    response = client.post(f"/notes/{note['id']}/review", json={"rating": "good"}, headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == REVIEW_KEYS | {"stability", "difficulty"}
    assert (body["state"], body["reps"], body["lapses"]) == ("learning", 1, 0)
    assert datetime.fromisoformat(body["last_reviewed_at"]) == clock.now()
    # The second learning step: 10 minutes.
    assert datetime.fromisoformat(body["due_at"]) == clock.now() + timedelta(minutes=10)
    assert body["stability"] > 0
    assert 1 <= body["difficulty"] <= 10
    assert client.get("/review/due", headers=headers).json()["due_count"] == 0


def test_again_in_review_is_a_lapse_and_again_in_learning_is_not(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    review = f"/notes/{note['id']}/review"
    clock.advance(days=1)

    learning_again = client.post(review, json={"rating": "again"}, headers=headers).json()
    easy = client.post(review, json={"rating": "easy"}, headers=headers).json()
    clock.advance(days=30)
    lapse = client.post(review, json={"rating": "again"}, headers=headers).json()

    assert (learning_again["state"], learning_again["lapses"]) == ("learning", 0)
    assert easy["state"] == "review"
    assert (lapse["state"], lapse["reps"], lapse["lapses"]) == ("relearning", 3, 1)


@pytest.mark.parametrize("body", [{"rating": "perfect"}, {}, {"rating": None}])
def test_a_bad_rating_is_422(client: TestClient, body: dict) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)

    assert client.post(f"/notes/{note['id']}/review", json=body, headers=headers).status_code == 422


def test_reviewing_an_absent_or_anothers_note_is_404(client: TestClient) -> None:
    _, mine = new_user(client)
    _, theirs = new_user(client)
    note = create_note(client, theirs)

    for note_id in (note["id"], "01J0000000000000000000000X"):
        response = client.post(f"/notes/{note_id}/review", json={"rating": "good"}, headers=mine)
        assert (response.status_code, response.json()["detail"]) == (404, "Note not found")


def test_another_users_due_notes_are_not_listed(client: TestClient, clock: FakeClock) -> None:
    _, mine = new_user(client)
    _, theirs = new_user(client)
    create_note(client, theirs)
    clock.advance(days=2)

    assert client.get("/review/due", headers=mine).json() == {"due_count": 0, "notes": []}


def test_a_deleted_note_is_no_longer_due(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    clock.advance(days=2)

    assert client.delete(f"/notes/{note['id']}", headers=headers).status_code == 204
    assert client.get("/review/due", headers=headers).json()["due_count"] == 0


def test_imported_notes_are_first_due_one_day_after_their_created_at(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    written = (clock.now() - timedelta(days=3)).replace(microsecond=0)
    notes = [
        {"title": "old", "content": "c", "memo_date": "20261127", "created_at": written.isoformat()},
        {"title": "undated", "content": "c", "memo_date": "20261127"},
    ]

    response = client.post("/notes/import", json={"notes": notes}, headers=headers)

    assert response.json() == {"created": 2, "skipped": 0}
    due = client.get("/review/due", headers=headers).json()
    assert due["due_count"] == 1
    [entry] = due["notes"]
    assert entry["title"] == "old"
    assert entry["review"]["due_at"] == (written + timedelta(days=1)).isoformat()
    assert entry["review"]["state"] == "learning"
    clock.advance(days=1)
    assert {entry["title"] for entry in client.get("/review/due", headers=headers).json()["notes"]} == {
        "old",
        "undated",
    }


# --- on this day -------------------------------------------------------------------------------


def test_on_this_day_groups_earlier_years_newest_first(client: TestClient) -> None:
    _, headers = new_user(client)
    two_years = create_note(client, headers, memo_date="20241201")
    one_year = create_note(client, headers, memo_date="20251201")
    create_note(client, headers, memo_date="20261201")  # the day itself: not an earlier year
    create_note(client, headers, memo_date="20251202")

    response = client.get("/notes/on-this-day", params={"date": "20261201"}, headers=headers)

    assert response.status_code == 200
    assert response.json() == {
        "date": "20261201",
        "years": [{"years_ago": 1, "notes": [one_year]}, {"years_ago": 2, "notes": [two_years]}],
    }


def test_a_leap_day_note_shows_on_28_february_of_common_years(client: TestClient) -> None:
    _, headers = new_user(client)
    leap = create_note(client, headers, memo_date="20240229")
    feb28 = create_note(client, headers, memo_date="20240228")

    common = client.get("/notes/on-this-day", params={"date": "20250228"}, headers=headers).json()
    leap_year = client.get("/notes/on-this-day", params={"date": "20280229"}, headers=headers).json()

    assert common["years"] == [{"years_ago": 1, "notes": [leap, feb28]}]
    assert leap_year["years"] == [{"years_ago": 4, "notes": [leap]}]


def test_on_this_day_defaults_to_today_in_the_callers_timezone(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    client.put("/users", json={"timezone": "Pacific/Kiritimati"}, headers=headers)  # UTC+14
    note = create_note(client, headers, memo_date="20251202")
    clock._now = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # already 2 December in Kiritimati

    body = client.get("/notes/on-this-day", headers=headers).json()

    assert body == {"date": "20261202", "years": [{"years_ago": 1, "notes": [note]}]}


@pytest.mark.parametrize("day", ["20250230", "2025-12-01", "x", "20251301"])
def test_on_this_day_refuses_a_date_that_is_not_real(client: TestClient, day: str) -> None:
    _, headers = new_user(client)

    assert client.get("/notes/on-this-day", params={"date": day}, headers=headers).status_code == 422


def test_on_this_day_needs_a_login(client: TestClient) -> None:
    assert client.get("/notes/on-this-day").status_code == 401


# --- stats -------------------------------------------------------------------------------------


def test_stats_counts_days_and_streaks(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    clock._now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    for memo_date, tags in [
        ("20260227", ["a"]),
        ("20260228", ["a", "b"]),
        ("20260301", []),
        ("20260301", []),
        ("20260302", []),
        ("20250101", []),  # more than 365 days ago: not in days, still a note
        ("20260310", []),  # in the future: neither a day nor a streak
    ]:
        create_note(client, headers, memo_date=memo_date, tags=tags)

    stats = client.get("/stats", headers=headers).json()

    assert stats == {
        "total_notes": 7,
        "total_tags": 2,
        "current_streak": 4,
        "longest_streak": 4,
        "days": [
            {"date": "20260227", "count": 1},
            {"date": "20260228", "count": 1},
            {"date": "20260301", "count": 2},
            {"date": "20260302", "count": 1},
        ],
    }


def test_the_current_streak_ends_today_or_yesterday(client: TestClient, clock: FakeClock) -> None:
    _, headers = new_user(client)
    for memo_date in ("20261128", "20261129"):
        create_note(client, headers, memo_date=memo_date)

    clock._now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    yesterday = client.get("/stats", headers=headers).json()
    clock._now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    two_days = client.get("/stats", headers=headers).json()

    assert (yesterday["current_streak"], yesterday["longest_streak"]) == (2, 2)
    assert (two_days["current_streak"], two_days["longest_streak"]) == (0, 2)


def test_a_new_user_has_empty_stats(client: TestClient) -> None:
    _, headers = new_user(client)

    assert client.get("/stats", headers=headers).json() == {
        "total_notes": 0,
        "total_tags": 0,
        "current_streak": 0,
        "longest_streak": 0,
        "days": [],
    }
