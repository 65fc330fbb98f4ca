"""GET /notes with the search, filters and sorts of SPEC §9, over HTTP on SQLite and MariaDB."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.app import new_user
from tests.support.notes import create_note

Params = dict[str, Any] | list[tuple[str, Any]]


def listed(client: TestClient, headers: dict[str, str], params: Params) -> dict[str, Any]:
    response = client.get("/notes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def ids(client: TestClient, headers: dict[str, str], params: Params) -> list[str]:
    body = listed(client, headers, [*_pairs(params), ("items_per_page", 100)])
    assert body["total_count"] == len(body["notes"])
    return [note["id"] for note in body["notes"]]


def _pairs(params: Params) -> list[tuple[str, Any]]:
    return list(params.items()) if isinstance(params, dict) else list(params)


def refused(client: TestClient, headers: dict[str, str], params: Params) -> list[dict[str, Any]]:
    """The 422's errors, in FastAPI's shape, each with a message."""
    response = client.get("/notes", params=params, headers=headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail
    assert all(error["loc"][0] == "query" and error["msg"] for error in detail)
    return detail


def test_q_finds_notes_by_title_content_or_tag_after_folding(client: TestClient) -> None:
    _, headers = new_user(client)
    _, stranger = new_user(client)
    python = create_note(client, headers, title="PYTHON tips", content="generators")
    korean = create_note(client, headers, title="오늘", content="제너레이터를 배웠다", tags=["Study"])
    strasse = create_note(client, headers, title="STRASSE", content="c")
    create_note(client, stranger, title="python strasse 제너레이터 study")

    assert ids(client, headers, {"q": "Python"}) == [python["id"]]
    assert ids(client, headers, {"q": "제너레이터"}) == [korean["id"]]
    assert ids(client, headers, {"q": "straße"}) == [strasse["id"]]
    assert ids(client, headers, {"q": "study"}) == [korean["id"]]
    assert ids(client, headers, {"q": "python generators"}) == [python["id"]]
    assert ids(client, headers, {"q": "python 제너레이터"}) == []


def test_wildcards_and_quotes_in_q_are_literal(client: TestClient) -> None:
    _, headers = new_user(client)
    percent = create_note(client, headers, title="100% sure")
    underscore = create_note(client, headers, title="snake_case")
    backslash = create_note(client, headers, title="C:\\temp")
    star = create_note(client, headers, title="a*b it's")
    create_note(client, headers, title="plain 100 snakeXcase ab its")

    assert ids(client, headers, {"q": "%"}) == [percent["id"]]
    assert ids(client, headers, {"q": "_"}) == [underscore["id"]]
    assert ids(client, headers, {"q": "\\"}) == [backslash["id"]]
    assert ids(client, headers, {"q": "*"}) == [star["id"]]
    assert ids(client, headers, {"q": "'"}) == [star["id"]]


def test_tag_is_repeatable_and_needs_every_tag_exactly(client: TestClient) -> None:
    _, headers = new_user(client)
    upper = create_note(client, headers, tags=["Study"])
    both = create_note(client, headers, tags=["study", "python"])
    create_note(client, headers, tags=["python"])

    assert ids(client, headers, [("tag", "study"), ("tag", "python")]) == [both["id"]]
    assert ids(client, headers, [("tag", " Study ")]) == [upper["id"]]
    assert ids(client, headers, [("tag", "STUDY")]) == []
    assert ids(client, headers, [("tag", "a/b")]) == []
    assert ids(client, headers, [("tag", str(n)) for n in range(9)] + [("tag", "study")]) == []


def test_from_and_to_are_inclusive_bounds_on_memo_date(client: TestClient) -> None:
    _, headers = new_user(client)
    first = create_note(client, headers, memo_date="20260101")
    second = create_note(client, headers, memo_date="20260115")
    third = create_note(client, headers, memo_date="20260131")

    assert ids(client, headers, {"from": "20260115", "to": "20260131"}) == [third["id"], second["id"]]
    assert ids(client, headers, {"from": "20260115", "to": "20260115"}) == [second["id"]]
    assert ids(client, headers, {"from": "20260102"}) == [third["id"], second["id"]]
    assert ids(client, headers, {"to": "20260115"}) == [second["id"], first["id"]]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("-created_at", [2, 1, 0]),
        ("created_at", [0, 1, 2]),
        ("-memo_date", [1, 0, 2]),
        ("memo_date", [2, 0, 1]),
        ("-updated_at", [0, 2, 1]),
        ("updated_at", [1, 2, 0]),
    ],
)
def test_every_sort(client: TestClient, sort: str, order: list[int]) -> None:
    _, headers = new_user(client)
    notes = [
        create_note(client, headers, memo_date="20260110"),
        create_note(client, headers, memo_date="20260120"),
        create_note(client, headers, memo_date="20260101"),
    ]
    for index in (1, 2, 0):  # updated in this order
        assert client.put(f"/notes/{notes[index]['id']}", json={}, headers=headers).status_code == 200

    assert ids(client, headers, {"sort": sort}) == [notes[index]["id"] for index in order]


def test_the_default_order_is_newest_created_first(client: TestClient) -> None:
    _, headers = new_user(client)
    notes = [create_note(client, headers) for _ in range(3)]

    assert ids(client, headers, {}) == ids(client, headers, {"sort": "-created_at"}) == [n["id"] for n in notes[::-1]]


def test_everything_combines_with_paging_and_counts_the_matches(client: TestClient) -> None:
    _, headers = new_user(client)
    matching = [
        create_note(client, headers, title=f"Python {n}", tags=["study"], memo_date=f"202603{n + 1:02d}")
        for n in range(5)
    ]
    create_note(client, headers, title="Python other tag", tags=["other"], memo_date="20260302")
    create_note(client, headers, title="Python too late", tags=["study"], memo_date="20260401")
    create_note(client, headers, title="Rust", tags=["study"], memo_date="20260302")
    query = [("q", "python"), ("tag", "study"), ("from", "20260301"), ("to", "20260331"), ("sort", "memo_date")]

    pages = [listed(client, headers, [*query, ("page", n), ("items_per_page", 2)]) for n in (1, 2, 3, 4)]

    assert [[note["id"] for note in page["notes"]] for page in pages] == [
        [matching[0]["id"], matching[1]["id"]],
        [matching[2]["id"], matching[3]["id"]],
        [matching[4]["id"]],
        [],
    ]
    assert [(page["total_count"], page["page"]) for page in pages] == [(5, 1), (5, 2), (5, 3), (5, 4)]
    assert pages[0]["notes"][0] == matching[0]


def test_an_updated_note_is_found_by_its_new_text_and_no_longer_by_its_old(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, title="oldtitle", content="oldcontent", tags=["oldtag"])

    changed = client.put(
        f"/notes/{note['id']}", json={"title": "newtitle", "content": "newcontent", "tags": ["newtag"]}, headers=headers
    )

    assert changed.status_code == 200, changed.text
    for old in ("oldtitle", "oldcontent", "oldtag"):
        assert ids(client, headers, {"q": old}) == []
    for new in ("newtitle", "newcontent", "newtag", "newtitle newcontent newtag"):
        assert ids(client, headers, {"q": new}) == [note["id"]]
    assert ids(client, headers, [("tag", "newtag")]) == [note["id"]]
    assert ids(client, headers, [("tag", "oldtag")]) == []


def test_q_at_its_bounds_is_accepted(client: TestClient) -> None:
    _, headers = new_user(client)
    note = create_note(client, headers, title="t " + "가" * 60, content=" ".join(f"w{n}" for n in range(10)))

    assert ids(client, headers, {"q": "가" * 60}) == [note["id"]]
    assert ids(client, headers, {"q": " ".join(f"w{n}" for n in range(10))}) == [note["id"]]
    assert listed(client, headers, {"q": "😀" * 200})["total_count"] == 0
    assert listed(client, headers, [("tag", str(n)) for n in range(10)])["total_count"] == 0


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        pytest.param({"q": ""}, "q", "at least 1 character", id="q-empty"),
        pytest.param({"q": "   "}, "q", "empty or only whitespace", id="q-blank"),
        pytest.param({"q": "\t\u3000\n"}, "q", "empty or only whitespace", id="q-unicode-blank"),
        pytest.param({"q": "x" * 201}, "q", "at most 200 characters", id="q-201"),
        pytest.param({"q": "😀" * 201}, "q", "at most 200 characters", id="q-201-emoji"),
        pytest.param({"q": " ".join("t" * 11)}, "q", "at most 10", id="q-11-terms"),
        pytest.param([("tag", str(n)) for n in range(11)], "tag", "at most 10", id="tag-11"),
        pytest.param({"from": "20260230"}, "from", "from must be a real calendar date", id="from-feb-30"),
        pytest.param({"from": "2026-01-01"}, "from", "from must be a real calendar date", id="from-iso"),
        pytest.param({"to": "abc"}, "to", "to must be a real calendar date", id="to-abc"),
        pytest.param({"from": "20260102", "to": "20260101"}, "from", "from must not be after to", id="from-after-to"),
        pytest.param({"sort": "title"}, "sort", "-created_at", id="sort-unknown"),
        pytest.param({"sort": "-id"}, "sort", "-created_at", id="sort-id"),
    ],
)
def test_bad_parameters_are_422_with_the_field_and_a_clear_message(
    client: TestClient, params: Params, field: str, message: str
) -> None:
    _, headers = new_user(client)
    create_note(client, headers)

    errors = refused(client, headers, params)

    assert [error["loc"] for error in errors] == [["query", field]]
    assert message in errors[0]["msg"]


def test_a_search_needs_a_token(client: TestClient) -> None:
    response = client.get("/notes", params={"q": "python"})

    assert response.status_code == 401


def test_openapi_documents_every_parameter_with_its_bounds(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/notes"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    schema = {name: _without_null(parameter["schema"]) for name, parameter in parameters.items()}

    assert {"q", "tag", "from", "to", "sort", "page", "items_per_page"} <= set(parameters)
    assert all(parameters[name]["in"] == "query" and parameters[name]["description"] for name in ("q", "tag", "from"))
    assert (schema["q"]["minLength"], schema["q"]["maxLength"]) == (1, 200)
    assert "pattern" in schema["q"]
    assert schema["tag"]["type"] == "array"
    assert schema["tag"]["maxItems"] == 10
    assert "pattern" in schema["from"]
    assert "pattern" in schema["to"]
    sort_schema = app.openapi()["components"]["schemas"][schema["sort"]["$ref"].rsplit("/", 1)[1]]
    assert sort_schema["enum"] == ["-created_at", "created_at", "-memo_date", "memo_date", "-updated_at", "updated_at"]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional parameter's schema."""
    branches = [branch for branch in schema.get("anyOf", [schema]) if branch.get("type") != "null"]
    return branches[0]
