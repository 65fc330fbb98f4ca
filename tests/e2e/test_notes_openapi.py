"""/docs and /openapi.json describe the note and tag endpoints: models, headers and error responses."""

import pytest
from fastapi.testclient import TestClient

from note.interface.schemas import REAL_DATE_PATTERN

ERRORS = {
    ("post", "/notes"): {"401", "409", "413", "422", "503"},
    ("get", "/notes"): {"401", "422", "503"},
    ("get", "/notes/{note_id}"): {"401", "404", "503"},
    ("put", "/notes/{note_id}"): {"401", "404", "409", "412", "413", "422", "503"},
    ("delete", "/notes/{note_id}"): {"401", "404", "409", "412", "503"},
    ("get", "/notes/tags/{tag_name}/notes"): {"401", "422", "503"},
    ("get", "/tags"): {"401", "503"},
}
SUCCESS_MODELS = {
    ("post", "/notes"): ("201", "NoteResponse"),
    ("get", "/notes"): ("200", "NotePageResponse"),
    ("get", "/notes/{note_id}"): ("200", "NoteResponse"),
    ("put", "/notes/{note_id}"): ("200", "NoteResponse"),
    ("get", "/notes/tags/{tag_name}/notes"): ("200", "NotePageResponse"),
    ("get", "/tags"): ("200", "TagListResponse"),
}


@pytest.fixture
def spec(client: TestClient) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("method", "path"), list(ERRORS))
def test_each_operation_declares_its_error_responses_with_models(spec: dict, method: str, path: str) -> None:
    responses = spec["paths"][path][method]["responses"]

    assert ERRORS[(method, path)] <= set(responses)
    for code in ERRORS[(method, path)]:
        model = "HTTPValidationError" if code == "422" else "ErrorResponse"
        assert responses[code]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    assert spec["paths"][path][method]["security"] == [{"OAuth2PasswordBearer": []}, {"PersonalAccessToken": []}]


@pytest.mark.parametrize(("method", "path"), list(SUCCESS_MODELS))
def test_each_operation_names_its_response_model(spec: dict, method: str, path: str) -> None:
    code, model = SUCCESS_MODELS[(method, path)]

    schema = spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]

    assert schema == {"$ref": f"#/components/schemas/{model}"}


def test_note_models_carry_the_rules(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["NoteCreate"]["properties"]

    assert set(schemas["NoteCreate"]["required"]) == {"title", "content", "memo_date"}
    assert (create["title"]["minLength"], create["title"]["maxLength"]) == (1, 64)
    assert (create["content"]["minLength"], create["content"]["maxLength"]) == (1, 20_000)
    assert create["memo_date"]["pattern"] == REAL_DATE_PATTERN  # real dates only (test_schemathesis.py checks it)
    assert "required" not in schemas["NoteUpdate"]
    assert set(schemas["NoteResponse"]["properties"]) == {
        "id",
        "user_id",
        "title",
        "content",
        "memo_date",
        "tags",
        "created_at",
        "updated_at",
    }
    assert set(schemas["NotePageResponse"]["properties"]) == {"total_count", "page", "notes"}
    assert set(schemas["TagResponse"]["properties"]) == {"name", "note_count"}


def test_etag_location_and_if_match_are_documented(spec: dict) -> None:
    note = spec["paths"]["/notes/{note_id}"]
    created = spec["paths"]["/notes"]["post"]["responses"]["201"]["headers"]

    assert "ETag" in note["get"]["responses"]["200"]["headers"]
    assert "ETag" in note["put"]["responses"]["200"]["headers"]
    assert {"Location", "ETag"} <= set(created)
    for method in ("put", "delete"):
        parameters = {parameter["name"]: parameter for parameter in note[method]["parameters"]}
        assert parameters["If-Match"]["in"] == "header"


def test_the_docs_page_lists_notes_and_tags(client: TestClient, spec: dict) -> None:
    docs = client.get("/docs")

    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert {tag for path in spec["paths"].values() for op in path.values() for tag in op.get("tags", [])} >= {
        "notes",
        "tags",
    }
