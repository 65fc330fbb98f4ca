"""The notes API over HTTP on SQLite and MariaDB: every row of SPEC §4's notes
table, ownership, ETag and If-Match, and what deleting a user takes with it."""

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.support.app import new_user
from tests.support.notes import all_notes, create_note, note_body, tag_counts

NOTE_KEYS = {"id", "user_id", "title", "content", "memo_date", "tags", "created_at", "updated_at"}
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_create_answers_201_with_location_etag_and_the_note(client: TestClient) -> None:
    user, headers = new_user(client)

    response = client.post(
        "/notes",
        json={"title": "Alembic", "content": "batch mode", "memo_date": "20240229", "tags": ["db", "python"]},
        headers=headers,
    )

    assert response.status_code == 201
    note = response.json()
    assert set(note) == NOTE_KEYS
    assert ULID.match(note["id"])
    assert response.headers["Location"] == f"/notes/{note['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (note["user_id"], note["title"], note["content"]) == (user["id"], "Alembic", "batch mode")
    assert (note["memo_date"], note["tags"]) == ("20240229", ["db", "python"])
    created = datetime.fromisoformat(note["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert note["updated_at"] == note["created_at"]


def test_tags_are_optional_on_create(client: TestClient) -> None:
    _, headers = new_user(client)
    body = {"title": "t", "content": "c", "memo_date": "20261127"}

    without = client.post("/notes", json=body, headers=headers)
    with_null = client.post("/notes", json={**body, "tags": None}, headers=headers)

    assert (without.status_code, without.json()["tags"]) == (201, [])
    assert (with_null.status_code, with_null.json()["tags"]) == (201, [])


def test_id_user_id_and_version_in_a_body_have_no_effect(client: TestClient) -> None:
    user, headers = new_user(client)
    other, _ = new_user(client)

    response = client.post(
        "/notes",
        json=note_body(id="01J0000000000000000000000X", user_id=other["id"], version=99, created_at="2000-01-01"),
        headers=headers,
    )

    assert response.status_code == 201
    assert response.json()["id"] != "01J0000000000000000000000X"
    assert response.json()["user_id"] == user["id"]
    assert response.headers["ETag"] == '"1"'


def test_get_returns_the_note_with_its_etag(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["b", "a"])

    response = client.get(f"/notes/{note['id']}", headers=headers)

    assert response.status_code == 200
    assert response.json() == note
    assert response.headers["ETag"] == '"1"'


def test_korean_and_emoji_round_trip_exactly_at_the_longest_lengths(client: TestClient) -> None:
    _, headers = new_user(client)
    title = "오늘 배운 것 🎉" + "😀" * 55
    content = ("한국어 본문과 이모지 👨‍👩‍👧 " + "가😀" * 10_000)[:20_000]
    tags = ["공부", "😀🎉", "日本語", "가" * 32, "👨‍👩‍👧"]
    assert (len(title), len(content)) == (64, 20_000)

    created = create_note(client, headers, title=title, content=content, tags=tags)
    fetched = client.get(f"/notes/{created['id']}", headers=headers).json()
    listed = client.get("/notes", headers=headers).json()["notes"]
    by_tag = client.get("/notes/tags/😀🎉/notes", headers=headers).json()["notes"]

    for note in (created, fetched, listed[0], by_tag[0]):
        assert (note["title"], note["content"], note["tags"]) == (title, content, tags)
    assert tag_counts(client, headers) == sorted((name, 1) for name in tags)


@pytest.mark.parametrize(("title", "content"), [("a", "b"), ("x" * 64, "y" * 20_000)])
def test_shortest_and_longest_title_and_content_are_accepted(client: TestClient, title: str, content: str) -> None:
    _, headers = new_user(client)

    note = create_note(client, headers, title=title, content=content)

    assert (note["title"], note["content"]) == (title, content)


def test_list_is_the_callers_notes_newest_created_first(client: TestClient) -> None:
    _, headers = new_user(client)
    _, other_headers = new_user(client)
    created = [create_note(client, headers) for _ in range(4)]
    create_note(client, other_headers)

    response = client.get("/notes", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"total_count", "page", "notes"}
    assert (body["total_count"], body["page"]) == (4, 1)
    assert body["notes"] == created[::-1]


def test_pages_of_10_over_25_notes_return_each_note_exactly_once(client: TestClient) -> None:
    _, headers = new_user(client)
    created_ids = {create_note(client, headers)["id"] for _ in range(25)}

    pages = [client.get("/notes", params={"page": n, "items_per_page": 10}, headers=headers).json() for n in (1, 2, 3)]
    listed = [note["id"] for page in pages for note in page["notes"]]

    assert [len(page["notes"]) for page in pages] == [10, 10, 5]
    assert [(page["total_count"], page["page"]) for page in pages] == [(25, 1), (25, 2), (25, 3)]
    assert len(listed) == len(set(listed)) == 25
    assert set(listed) == created_ids
    created_at = [datetime.fromisoformat(note["created_at"]) for page in pages for note in page["notes"]]
    assert created_at == sorted(created_at, reverse=True)


def test_a_page_past_the_end_is_empty_with_the_true_total(client: TestClient) -> None:
    _, headers = new_user(client)
    for _ in range(3):
        create_note(client, headers)

    response = client.get("/notes", params={"page": 2, "items_per_page": 3}, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"total_count": 3, "page": 2, "notes": []}


def test_list_defaults_to_page_1_of_10(client: TestClient) -> None:
    _, headers = new_user(client)
    for _ in range(11):
        create_note(client, headers)

    body = client.get("/notes", headers=headers).json()

    assert (body["total_count"], body["page"], len(body["notes"])) == (11, 1, 10)


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"page": -1}, {"page": "x"}, {"items_per_page": 0}, {"items_per_page": 101}, {"items_per_page": "x"}],
)
@pytest.mark.parametrize("path", ["/notes", "/notes/tags/study/notes"])
def test_page_bounds_are_enforced(client: TestClient, path: str, params: dict) -> None:
    _, headers = new_user(client)

    response = client.get(path, params=params, headers=headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_items_per_page_of_100_is_allowed(client: TestClient) -> None:
    _, headers = new_user(client)
    create_note(client, headers)

    response = client.get("/notes", params={"items_per_page": 100}, headers=headers)

    assert (response.status_code, response.json()["total_count"]) == (200, 1)


def test_put_changes_only_the_given_fields(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, title="Old", content="Old body", memo_date="20260101", tags=["a", "b"])

    response = client.put(f"/notes/{note['id']}", json={"title": "New", "content": None}, headers=headers)

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    updated = response.json()
    assert updated == {**note, "title": "New", "updated_at": updated["updated_at"]}
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(note["updated_at"])
    assert client.get(f"/notes/{note['id']}", headers=headers).json() == updated


def test_put_can_change_every_field(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["a"])
    change = {"title": "제목", "content": "내용 😀", "memo_date": "20000229", "tags": ["z", "y"]}

    response = client.put(f"/notes/{note['id']}", json=change, headers=headers)

    assert response.status_code == 200
    assert {key: response.json()[key] for key in change} == change
    assert client.get(f"/notes/{note['id']}", headers=headers).json() == response.json()


def test_put_tags_empty_clears_them_and_null_or_omitted_leaves_them(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["keep", "me"])
    url = f"/notes/{note['id']}"

    assert client.put(url, json={"tags": None}, headers=headers).json()["tags"] == ["keep", "me"]
    assert client.put(url, json={"title": "only the title"}, headers=headers).json()["tags"] == ["keep", "me"]
    assert client.put(url, json={"tags": []}, headers=headers).json()["tags"] == []
    assert client.get(url, headers=headers).json()["tags"] == []
    assert tag_counts(client, headers) == []


def test_every_put_is_a_new_version_in_the_etag(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    url = f"/notes/{note['id']}"

    etags = [client.put(url, json={}, headers=headers).headers["ETag"] for _ in range(3)]

    assert etags == ['"2"', '"3"', '"4"']
    assert client.get(url, headers=headers).headers["ETag"] == '"4"'


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "*", '"7", "1"'])
def test_put_with_a_matching_if_match_succeeds(client: TestClient, if_match: str) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)

    response = client.put(f"/notes/{note['id']}", json={"title": "ok"}, headers={**headers, "If-Match": if_match})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.json()["title"] == "ok"


@pytest.mark.parametrize("if_match", ['"1"', '"3"', "1", "garbage", '""'])
def test_put_with_a_mismatched_if_match_is_412_and_changes_nothing(client: TestClient, if_match: str) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["before"])
    url = f"/notes/{note['id']}"
    current = client.put(url, json={"title": "v2"}, headers=headers)  # now at version 2
    assert current.headers["ETag"] == '"2"'

    response = client.put(url, json={"title": "lost", "tags": ["after"]}, headers={**headers, "If-Match": if_match})

    assert response.status_code == 412
    assert isinstance(response.json()["detail"], str)
    after = client.get(url, headers=headers)
    assert (after.json(), after.headers["ETag"]) == (current.json(), '"2"')
    assert tag_counts(client, headers) == [("before", 1)]


def test_the_etag_of_a_get_is_what_if_match_takes(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    url = f"/notes/{note['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]

    first = client.put(url, json={"title": "first"}, headers={**headers, "If-Match": etag})
    second = client.put(url, json={"title": "second"}, headers={**headers, "If-Match": etag})

    assert (first.status_code, second.status_code) == (200, 412)
    assert client.get(url, headers=headers).json()["title"] == "first"


def test_delete_answers_204_and_the_note_is_gone(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    kept = create_note(client, headers)

    response = client.delete(f"/notes/{note['id']}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/notes/{note['id']}", headers=headers).status_code == 404
    assert client.delete(f"/notes/{note['id']}", headers=headers).status_code == 404
    assert [n["id"] for n in all_notes(client, headers)] == [kept["id"]]


def test_delete_with_a_mismatched_if_match_is_412_and_keeps_the_note(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers)
    url = f"/notes/{note['id']}"

    refused = client.delete(url, headers={**headers, "If-Match": '"2"'})
    accepted = client.delete(url, headers={**headers, "If-Match": '"1"'})

    assert (refused.status_code, accepted.status_code) == (412, 204)


@pytest.mark.parametrize("note_id", ["01J00000000000000000000000", "not-a-ulid", "x" * 300])
def test_an_absent_note_is_404(client: TestClient, note_id: str) -> None:
    _, headers = new_user(client)

    assert client.get(f"/notes/{note_id}", headers=headers).status_code == 404
    assert client.put(f"/notes/{note_id}", json={"title": "t"}, headers=headers).status_code == 404
    assert client.delete(f"/notes/{note_id}", headers=headers).status_code == 404
    assert client.get(f"/notes/{note_id}", headers=headers).json() == {"detail": "Note not found"}


def test_another_users_note_is_404_for_get_put_and_delete_and_stays_unchanged(client: TestClient) -> None:
    _, alice = new_user(client)
    _, bob = new_user(client)
    note = create_note(client, alice, tags=["private"])
    url = f"/notes/{note['id']}"

    answers = [
        client.get(url, headers=bob),
        client.put(url, json={"title": "hijacked", "tags": []}, headers=bob),
        client.put(url, json={"title": "hijacked"}, headers={**bob, "If-Match": '"1"'}),
        client.delete(url, headers=bob),
        client.delete(url, headers={**bob, "If-Match": '"1"'}),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert all(answer.json() == {"detail": "Note not found"} for answer in answers)
    after = client.get(url, headers=alice)
    assert (after.status_code, after.json(), after.headers["ETag"]) == (200, note, '"1"')
    assert tag_counts(client, alice) == [("private", 1)]
    assert all_notes(client, bob) == []
    assert tag_counts(client, bob) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/notes"),
        ("GET", "/notes"),
        ("GET", "/notes/01J00000000000000000000000"),
        ("PUT", "/notes/01J00000000000000000000000"),
        ("DELETE", "/notes/01J00000000000000000000000"),
        ("GET", "/notes/tags/study/notes"),
        ("GET", "/tags"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}], ids=["none", "bad"])
def test_every_note_route_needs_a_valid_token(client: TestClient, method: str, path: str, headers: dict) -> None:
    response = client.request(method, path, json=note_body(), headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_a_body_over_1_mib_is_413_and_writes_nothing(client: TestClient) -> None:
    _, headers = new_user(client)

    response = client.post("/notes", json=note_body(content="x" * (1024 * 1024 + 1)), headers=headers)

    assert response.status_code == 413
    assert all_notes(client, headers) == []


def test_deleting_the_user_removes_its_notes_and_tags(client: TestClient, engine: Engine) -> None:
    user, headers = new_user(client)
    _, other = new_user(client)
    for _ in range(3):
        create_note(client, headers, tags=["shared-name", "mine"])
    kept = create_note(client, other, tags=["shared-name"])

    assert client.delete("/users", headers=headers).status_code == 204

    with engine.connect() as connection:
        notes = connection.execute(text("SELECT COUNT(*) FROM notes WHERE user_id = :u"), {"u": user["id"]}).scalar()
        tags = connection.execute(text("SELECT COUNT(*) FROM tags WHERE user_id = :u"), {"u": user["id"]}).scalar()
    assert (notes, tags) == (0, 0)
    assert client.get("/notes", headers=headers).status_code == 401
    assert client.get(f"/notes/{kept['id']}", headers=other).json() == kept
    assert tag_counts(client, other) == [("shared-name", 1)]


@pytest.mark.parametrize("suffix", ["%20", "%20%20", "%09"], ids=["space", "two-spaces", "tab"])
def test_an_id_with_trailing_whitespace_is_another_id(client: TestClient, suffix: str) -> None:
    """Issue 11, finding 11: MariaDB's PAD SPACE collation found the note of ``<id>%20``."""
    _, headers = new_user(client)
    note = create_note(client, headers)

    assert client.get(f"/notes/{note['id']}{suffix}", headers=headers).status_code == 404
    assert client.put(f"/notes/{note['id']}{suffix}", json={"title": "Nope"}, headers=headers).status_code == 404
    assert client.delete(f"/notes/{note['id']}{suffix}", headers=headers).status_code == 404
    assert client.get(f"/users/{note['user_id']}{suffix}", headers=headers).status_code in (403, 404)
    assert client.get(f"/notes/{note['id']}", headers=headers).json()["title"] == note["title"]
