"""The OpenAPI document (what Swagger UI at /docs shows) for the user endpoints:
request and response models, and every error response where it can happen."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from main import create_app
from tests.support.app import USER_KEYS, make_settings

# (method, path): request model, success status and model, the 4xx codes the route can answer
# (413 on every one: any request may carry a body over 1 MiB).
USER_OPERATIONS = {
    ("post", "/users"): ("UserCreate", "201", "UserResponse", {"409", "413", "422"}),
    ("post", "/users/login"): ("LoginForm", "200", "TokenResponse", {"401", "413", "422", "429"}),
    ("get", "/users/me"): (None, "200", "UserResponse", {"401", "413"}),
    # Any text is a valid path segment: no 422 where a path parameter is the only input.
    ("get", "/users/{user_id}"): (None, "200", "UserResponse", {"401", "403", "404", "413"}),
    ("put", "/users"): ("UserUpdate", "200", "UserResponse", {"401", "403", "413", "422"}),
    ("delete", "/users"): (None, "204", None, {"401", "403", "413"}),
    ("get", "/users"): (None, "200", "UserPageResponse", {"401", "403", "413", "422"}),
    # SPEC §11: 403 is a personal access token on an account route.
    ("post", "/users/logout"): (None, "204", None, {"401", "403", "413"}),
    ("post", "/users/logout-all"): (None, "204", None, {"401", "403", "413"}),
    ("post", "/users/me/tokens"): (
        "PersonalTokenCreate",
        "201",
        "PersonalTokenCreated",
        {"401", "403", "409", "413", "422"},
    ),
    ("get", "/users/me/tokens"): (None, "200", "PersonalTokenListResponse", {"401", "403", "413"}),
    ("delete", "/users/me/tokens/{token_id}"): (None, "204", None, {"401", "403", "404", "413"}),
}
PUBLIC = {("post", "/users"), ("post", "/users/login")}
OPERATION_IDS = [f"{method.upper()} {path}" for method, path in USER_OPERATIONS]


@pytest.fixture(scope="module")
def spec(app_for_docs: TestClient) -> dict:
    response = app_for_docs.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def app_for_docs(sqlite_url: str) -> Iterator[TestClient]:
    """The document does not depend on the database: SQLite only."""
    with TestClient(create_app(make_settings(sqlite_url))) as client:
        yield client


def ref(schema: dict | None) -> str | None:
    return None if schema is None else schema["$ref"].removeprefix("#/components/schemas/")


def json_schema(response_or_body: dict, content_type: str = "application/json") -> dict | None:
    content = response_or_body.get("content", {}).get(content_type)
    return None if content is None else content["schema"]


def component(spec: dict, name: str) -> dict:
    return spec["components"]["schemas"][name]


def test_every_user_operation_is_listed(spec: dict) -> None:
    listed = {(method, path) for path, operations in spec["paths"].items() for method in operations}

    assert set(USER_OPERATIONS) <= listed


@pytest.mark.parametrize(("method", "path"), USER_OPERATIONS.keys(), ids=OPERATION_IDS)
def test_each_operation_declares_its_models_and_error_responses(spec: dict, method: str, path: str) -> None:
    request_model, success, response_model, errors = USER_OPERATIONS[(method, path)]
    operation = spec["paths"][path][method]
    responses = operation["responses"]

    if request_model is None:
        assert "requestBody" not in operation
    else:
        content_type = "application/x-www-form-urlencoded" if path == "/users/login" else "application/json"
        assert ref(json_schema(operation["requestBody"], content_type)) == request_model
    assert success in responses
    assert ref(json_schema(responses[success])) == response_model
    assert {code for code in responses if code.startswith("4")} == errors
    for code in errors - {"422"}:
        assert ref(json_schema(responses[code])) == "ErrorResponse", code
        assert responses[code]["description"]
    if "422" in errors:
        assert ref(json_schema(responses["422"])) == "HTTPValidationError"


@pytest.mark.parametrize(("method", "path"), USER_OPERATIONS.keys(), ids=OPERATION_IDS)
def test_protected_operations_declare_the_bearer_scheme(spec: dict, method: str, path: str) -> None:
    security = spec["paths"][path][method].get("security")

    if (method, path) in PUBLIC:
        assert security is None
    else:
        # Either scheme (a list of requirements is an "or"): Swagger UI offers both.
        assert security == [{"OAuth2PasswordBearer": []}, {"PersonalAccessToken": []}]


def test_the_security_schemes_are_the_oauth2_password_flow_and_a_bearer_field(spec: dict) -> None:
    schemes = spec["components"]["securitySchemes"]
    login, personal = schemes["OAuth2PasswordBearer"], schemes["PersonalAccessToken"]

    assert set(schemes) == {"OAuth2PasswordBearer", "PersonalAccessToken"}
    assert login["type"] == "oauth2"
    assert login["flows"]["password"]["tokenUrl"] == "/users/login"
    assert (personal["type"], personal["scheme"]) == ("http", "bearer")
    assert "til_pat_" in personal["description"]


def test_the_personal_token_models_have_the_documented_fields(spec: dict) -> None:
    listed = {"id", "name", "created_at", "expires_at", "last_used_at"}
    create = component(spec, "PersonalTokenCreate")

    assert set(component(spec, "PersonalTokenCreated")["properties"]) == listed | {"token"}
    assert set(component(spec, "PersonalTokenCreated")["required"]) == listed | {"token"}
    assert set(component(spec, "PersonalTokenResponse")["required"]) == listed
    assert set(component(spec, "PersonalTokenListResponse")["properties"]) == {"tokens"}
    assert set(create["properties"]) == {"name", "expires_in_days"}
    assert create["required"] == ["name"]
    assert (create["properties"]["name"]["minLength"], create["properties"]["name"]["maxLength"]) == (1, 64)
    days = next(option for option in create["properties"]["expires_in_days"]["anyOf"] if option["type"] == "integer")
    assert (days["minimum"], days["maximum"]) == (1, 365)


def test_the_user_models_have_the_documented_fields(spec: dict) -> None:
    user = component(spec, "UserResponse")
    create = component(spec, "UserCreate")
    update = component(spec, "UserUpdate")
    login_form = component(spec, "LoginForm")

    assert set(user["properties"]) == USER_KEYS
    assert set(user["required"]) == USER_KEYS
    assert set(create["properties"]) == {"name", "email", "password"}
    assert set(create["required"]) == {"name", "email", "password"}
    assert (create["properties"]["name"]["minLength"], create["properties"]["name"]["maxLength"]) == (2, 32)
    assert (create["properties"]["password"]["minLength"], create["properties"]["password"]["maxLength"]) == (8, 64)
    assert set(update["properties"]) == {"name", "password", "current_password", "timezone", "digest"}
    assert "required" not in update
    assert {"username", "password"} <= set(login_form["required"])
    assert set(component(spec, "TokenResponse")["properties"]) == {"access_token", "token_type", "expires_in"}
    assert set(component(spec, "UserPageResponse")["properties"]) == {"total_count", "page", "users"}
    assert set(component(spec, "ErrorResponse")["properties"]) == {"detail"}
    assert set(component(spec, "Role")["enum"]) == {"USER", "ADMIN"}


def test_no_response_model_carries_a_password(spec: dict) -> None:
    for name in ("UserResponse", "UserPageResponse", "TokenResponse"):
        assert "password" not in str(component(spec, name)).lower(), name


def test_the_list_declares_its_pagination_bounds(spec: dict) -> None:
    parameters = {parameter["name"]: parameter for parameter in spec["paths"]["/users"]["get"]["parameters"]}

    page, items_per_page = parameters["page"]["schema"], parameters["items_per_page"]["schema"]
    assert (page["minimum"], page["default"]) == (1, 1)
    assert (items_per_page["minimum"], items_per_page["maximum"], items_per_page["default"]) == (1, 100, 10)


def test_swagger_ui_is_served_with_its_own_assets(app_for_docs: TestClient) -> None:
    page = app_for_docs.get("/docs")

    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would need the internet"
        assert app_for_docs.get(asset).status_code == 200, asset
