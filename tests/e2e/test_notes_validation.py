"""Invalid note input over HTTP: 422 JSON, and nothing is written."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.app import new_user
from tests.support.notes import all_notes, create_note, note_body, tag_counts

THIRTY_THREE_TAGS = [f"tag-{number}" for number in range(33)]

INVALID_FIELDS: list[Any] = [
    pytest.param({"title": ""}, id="title-0"),
    pytest.param({"title": "x" * 65}, id="title-65"),
    pytest.param({"title": "가" * 65}, id="title-65-korean"),
    pytest.param({"title": "😀" * 65}, id="title-65-emoji"),
    pytest.param({"title": "   "}, id="title-blank"),
    pytest.param({"title": 42}, id="title-number"),
    pytest.param({"content": ""}, id="content-0"),
    pytest.param({"content": "x" * 20_001}, id="content-20001"),
    pytest.param({"content": "한" * 20_001}, id="content-20001-korean"),
    pytest.param({"memo_date": "20230230"}, id="date-feb-30"),
    pytest.param({"memo_date": "20230229"}, id="date-feb-29-not-leap"),
    pytest.param({"memo_date": "20231301"}, id="date-month-13"),
    pytest.param({"memo_date": "2023-01-01"}, id="date-iso"),
    pytest.param({"memo_date": "abc"}, id="date-abc"),
    pytest.param({"memo_date": "2023011"}, id="date-7-digits"),
    pytest.param({"memo_date": 20230101}, id="date-number"),
    pytest.param({"tags": THIRTY_THREE_TAGS}, id="tags-33"),
    pytest.param({"tags": ["a/b"]}, id="tag-slash"),
    pytest.param({"tags": ["ok", "tab\there"]}, id="tag-tab"),
    pytest.param({"tags": ["new\nline"]}, id="tag-newline"),
    pytest.param({"tags": ["nul\u0000"]}, id="tag-nul"),
    pytest.param({"tags": ["del\u007f"]}, id="tag-del"),
    pytest.param({"tags": [""]}, id="tag-empty"),
    pytest.param({"tags": ["   "]}, id="tag-blank"),
    pytest.param({"tags": ["x" * 33]}, id="tag-33"),
    pytest.param({"tags": ["가" * 33]}, id="tag-33-korean"),
    pytest.param({"tags": "study"}, id="tags-not-a-list"),
    pytest.param({"tags": [7]}, id="tag-number"),
]
MISSING_FIELDS = ["title", "content", "memo_date"]


def assert_validation_error(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    assert all({"loc", "msg"} <= set(error) for error in detail)


@pytest.mark.parametrize("fields", INVALID_FIELDS)
def test_create_with_an_invalid_field_is_422_and_writes_nothing(client: TestClient, fields: dict) -> None:
    _, headers = new_user(client)

    response = client.post("/notes", json=note_body(**fields), headers=headers)

    assert_validation_error(response)
    assert all_notes(client, headers) == []
    assert tag_counts(client, headers) == []


@pytest.mark.parametrize("missing", MISSING_FIELDS)
def test_create_without_a_required_field_is_422(client: TestClient, missing: str) -> None:
    _, headers = new_user(client)
    body = note_body()
    del body[missing]

    response = client.post("/notes", json=body, headers=headers)

    assert_validation_error(response)
    assert response.json()["detail"][0]["loc"] == ["body", missing]
    assert all_notes(client, headers) == []


@pytest.mark.parametrize("body", ["not json", "[]", ""])
def test_create_with_a_body_that_is_not_a_note_is_422(client: TestClient, body: str) -> None:
    _, headers = new_user(client)

    response = client.post("/notes", content=body, headers={**headers, "content-type": "application/json"})

    assert_validation_error(response)
    assert all_notes(client, headers) == []


@pytest.mark.parametrize("fields", INVALID_FIELDS)
def test_update_with_an_invalid_field_is_422_and_changes_nothing(client: TestClient, fields: dict) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["before"])
    url = f"/notes/{note['id']}"

    response = client.put(url, json={"title": "would change", **fields}, headers=headers)

    assert_validation_error(response)
    after = client.get(url, headers=headers)
    assert (after.json(), after.headers["ETag"]) == (note, '"1"')
    assert tag_counts(client, headers) == [("before", 1)]


def test_the_error_names_the_field(client: TestClient) -> None:
    _, headers = new_user(client)

    response = client.post("/notes", json=note_body(memo_date="20230230", tags=["ok", "a/b"]), headers=headers)

    locations = [error["loc"] for error in response.json()["detail"]]
    assert ["body", "memo_date"] in locations
    assert ["body", "tags", 1] in locations


def test_32_tags_are_accepted_and_repeats_do_not_count_toward_the_limit(client: TestClient) -> None:
    _, headers = new_user(client)
    thirty_two = THIRTY_THREE_TAGS[:32]

    exactly = create_note(client, headers, tags=thirty_two)
    with_repeats = create_note(client, headers, tags=[*thirty_two, *reversed(thirty_two), " tag-0 "])

    assert exactly["tags"] == thirty_two
    assert with_repeats["tags"] == thirty_two
