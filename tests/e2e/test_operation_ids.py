"""What a client generator reads in ``/openapi.json`` (issue 19): stable operation ids, ``X-Request-ID``
on every response, an open ``ValidationError.ctx``, no status an operation cannot answer, and an
Authorize dialog that says what goes where. ``web/openapi.py`` does it for every route, so a route
added later is held to the same by these tests."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from main import DESCRIPTION, create_app
from tests.support.app import make_settings

# Every operation, sorted: a renamed route function renames its operation id, which breaks every
# generated client, so the rename must be made here too, on purpose. Extend this list with each route.
OPERATION_IDS = [
    ("delete", "/notes/{note_id}", "notes-delete"),
    ("delete", "/notes/{note_id}/share", "sharing-unshare_note"),
    ("delete", "/tags/{tag_name}", "tags-delete"),
    ("delete", "/users", "users-delete_me"),
    ("delete", "/users/me/tokens/{token_id}", "users-delete_personal_token"),
    ("get", "/health", "operations-health"),
    ("get", "/metrics", "operations-metrics"),
    ("get", "/notes", "notes-list"),
    ("get", "/notes/export", "notes-export"),
    ("get", "/notes/on-this-day", "remembering-on_this_day"),
    ("get", "/notes/tags/{tag_name}/notes", "notes-list_by_tag"),
    ("get", "/notes/{note_id}", "notes-get"),
    ("get", "/notes/{note_id}/share", "sharing-get_share"),
    ("get", "/reset-password", "pages-reset_password"),
    ("get", "/review/due", "remembering-due_reviews"),
    ("get", "/shared/{token}", "sharing-read_shared_note"),
    ("get", "/stats", "remembering-stats"),
    ("get", "/tags", "tags-list"),
    ("get", "/users", "users-list"),
    ("get", "/users/me", "users-get_me"),
    ("get", "/users/me/tokens", "users-list_personal_tokens"),
    ("get", "/users/{user_id}", "users-get"),
    ("get", "/verify-email", "pages-verify_email"),
    ("patch", "/tags/{tag_name}", "tags-rename"),
    ("post", "/notes", "notes-create"),
    ("post", "/notes/import", "notes-import"),
    ("post", "/notes/{note_id}/review", "remembering-review_note"),
    ("post", "/reset-password", "pages-reset_password_submit"),
    ("post", "/users", "users-create"),
    ("post", "/users/email-verification", "users-request_verification"),
    ("post", "/users/email-verification/confirm", "users-confirm_verification"),
    ("post", "/users/login", "users-login"),
    ("post", "/users/logout", "users-logout"),
    ("post", "/users/logout-all", "users-logout_all"),
    ("post", "/users/me/tokens", "users-create_personal_token"),
    ("post", "/users/password-reset", "users-request_password_reset"),
    ("post", "/users/password-reset/confirm", "users-confirm_password_reset"),
    ("put", "/notes/{note_id}", "notes-update"),
    ("put", "/notes/{note_id}/share", "sharing-share_note"),
    ("put", "/users", "users-update_me"),
]


@pytest.fixture(scope="module")
def http(sqlite_url: str) -> Iterator[TestClient]:
    """The document does not depend on the database: SQLite only."""
    with TestClient(create_app(make_settings(sqlite_url))) as client:
        yield client


@pytest.fixture(scope="module")
def spec(http: TestClient) -> dict:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_operation_ids_are_exactly_the_pinned_ones(spec: dict) -> None:
    listed = sorted((method, path, operation["operationId"]) for method, path, operation in operations(spec))

    assert listed == OPERATION_IDS


def test_operation_ids_are_unique(spec: dict) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]

    assert len(ids) == len(set(ids))


def test_every_response_of_every_operation_declares_x_request_id(spec: dict) -> None:
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            header = response["headers"]["X-Request-ID"]
            assert (header["required"], header["schema"]) == (True, {"type": "string"}), (method, path, code)


def test_the_x_request_id_headers_keep_the_ones_declared_before(spec: dict) -> None:
    created = spec["paths"]["/notes"]["post"]["responses"]["201"]["headers"]
    throttled = spec["paths"]["/users/login"]["post"]["responses"]["429"]["headers"]

    assert set(created) == {"Location", "ETag", "X-Request-ID"}
    assert set(throttled) == {"Retry-After", "X-Request-ID"}


def test_a_validation_errors_context_is_an_open_object(spec: dict, http: TestClient) -> None:
    context = spec["components"]["schemas"]["ValidationError"]["properties"]["ctx"]
    answer = http.post("/users", json={"name": "x", "email": "short@example.com", "password": "long enough"})

    assert (context["type"], context["additionalProperties"]) == ("object", True)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["ctx"] == {"min_length": 2}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/metrics"), ("get", "/notes/{note_id}"), ("delete", "/notes/{note_id}"), ("get", "/users/{user_id}")],
)
def test_an_operation_whose_input_is_always_valid_declares_no_422(spec: dict, method: str, path: str) -> None:
    assert "422" not in spec["paths"][path][method]["responses"]


@pytest.mark.parametrize(("method", "path"), [("get", "/notes"), ("put", "/notes/{note_id}"), ("post", "/users")])
def test_an_operation_with_checked_input_still_declares_422(spec: dict, method: str, path: str) -> None:
    assert "422" in spec["paths"][path][method]["responses"]


def test_metrics_answers_every_accept_header_it_is_sent(http: TestClient) -> None:
    for accept in ["", "application/openmetrics-text; version=1.0.0", "text/plain", "\u00e9/\u00e9;;;", "*/*"]:
        response = http.get("/metrics", headers={"Accept": accept.encode("latin-1")})
        assert response.status_code == 200, accept


def test_the_login_form_is_a_named_schema(spec: dict) -> None:
    body = spec["paths"]["/users/login"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    form = spec["components"]["schemas"]["LoginForm"]

    assert body["schema"] == {"$ref": "#/components/schemas/LoginForm"}
    assert form["required"] == ["username", "password"]
    assert "email" in form["properties"]["username"]["description"]
    assert not [name for name in spec["components"]["schemas"] if name.startswith("Body_")]


def test_the_oauth2_scheme_says_the_email_goes_in_username_and_no_client_credentials(spec: dict) -> None:
    description = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["description"]

    assert "email" in description
    assert "`username`" in description
    assert "`client_id` and `client_secret` empty" in description


def test_the_intro_names_no_authorize_button_redoc_lacks(spec: dict) -> None:
    assert "authorize" not in DESCRIPTION.lower()
    assert spec["info"]["description"] == DESCRIPTION
