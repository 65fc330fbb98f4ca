"""A Python client generated from the running service's ``/openapi.json`` drives a whole journey (issue 19).

``openapi-python-client`` generates the client into a temporary directory, and must print no warning
about the document; the test imports it and talks to a real ``python main.py`` through it: signup,
login, notes in Korean and with emoji, ``ETag`` and ``If-Match``, a 412, tags, a 422, delete. Every
answer must parse into the model its operation declares for that status (``parsed``), and the client
refuses any status the document does not declare (``raise_on_unexpected_status``).
"""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.app import PASSWORD, TEST_JWT_SECRET, unique_email
from tests.support.live_server import LiveServer, live_server, main_py

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "til_notes_client"
# Formatting the generated code (ruff, as a post hook) is not what this test is about.
# The generator knows no application/zip request body; the Markdown zip import is bytes like any
# octet stream (openapi-python-client's documented content_type_overrides).
GENERATOR_CONFIG = "post_hooks: []\ncontent_type_overrides:\n  application/zip: application/octet-stream\n"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET}
    workdir = tmp_path_factory.mktemp("generated-client")
    with live_server(name="generated-client", command=main_py(), workdir=workdir, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def generated(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the live server's document, imported fresh."""
    root = tmp_path_factory.mktemp("client")
    (root / "openapi.json").write_bytes(httpx.get(f"{server.base_url}/openapi.json", timeout=10).content)
    (root / "config.yaml").write_text(GENERATOR_CONFIG)
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            *("--path", "openapi.json", "--output-path", PACKAGE, "--meta", "none", "--config", "config.yaml"),
            "--fail-on-warning",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(package: ModuleType, tag: str, operation: str) -> Any:
    """``til_notes_client.api.<tag>.<operation id as a module>``, e.g. ``api(client, "notes", "notes-get")``."""
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation.replace('-', '_')}")


def model(package: ModuleType, name: str) -> type:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def parsed(response: Any, status: int, model_class: type) -> Any:
    """The answer has ``status`` and parsed into ``model_class``."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model_class), (type(response.parsed), response.content)
    assert response.headers["x-request-id"]
    return response.parsed


def test_a_generated_client_drives_the_whole_journey(generated: ModuleType, server: LiveServer) -> None:
    models = {name: model(generated, name) for name in MODEL_NAMES}
    anonymous = generated.Client(base_url=server.base_url, raise_on_unexpected_status=True, timeout=10)
    email = unique_email("generated-client")

    user = parsed(
        api(generated, "users", "users-create").sync_detailed(
            client=anonymous, body=models["UserCreate"](name="클라이언트 🎉", email=email, password=PASSWORD)
        ),
        201,
        models["UserResponse"],
    )
    assert user.name == "클라이언트 🎉"
    short_name = api(generated, "users", "users-create").sync_detailed(
        client=anonymous, body=models["UserCreate"](name="x", email=unique_email("short"), password=PASSWORD)
    )
    error = parsed(short_name, 422, models["HTTPValidationError"]).detail[0]
    assert isinstance(error, models["ValidationError"])
    assert error.ctx.additional_properties == {"min_length": 2}
    login = api(generated, "users", "users-login")
    wrong = login.sync_detailed(client=anonymous, body=models["LoginForm"](username=email, password="wrong password"))
    assert parsed(wrong, 401, models["ErrorResponse"]).detail
    token = parsed(
        login.sync_detailed(client=anonymous, body=models["LoginForm"](username=email, password=PASSWORD)),
        200,
        models["TokenResponse"],
    )
    client = generated.AuthenticatedClient(
        base_url=server.base_url, token=token.access_token, raise_on_unexpected_status=True, timeout=10
    )
    me = parsed(api(generated, "users", "users-get_me").sync_detailed(client=client), 200, models["UserResponse"])
    assert me.id == user.id

    _notes_journey(generated, client, models)

    health = api(generated, "operations", "operations-health").sync_detailed(client=anonymous)
    assert parsed(health, 200, models["HealthResponse"]).status == "ok"


def _notes_journey(generated: ModuleType, client: Any, models: dict[str, type]) -> None:
    notes = {name: api(generated, "notes", f"notes-{name}") for name in ("create", "get", "update", "delete")}
    body = models["NoteCreate"](
        title="오늘 배운 것 🐍", content="한글과 이모지 😀 둘 다", memo_date="20261201", tags=["공부", "🐍 python"]
    )
    created = notes["create"].sync_detailed(client=client, body=body)
    note = parsed(created, 201, models["NoteResponse"])
    assert (note.title, note.content, note.tags) == ("오늘 배운 것 🐍", "한글과 이모지 😀 둘 다", ["공부", "🐍 python"])
    assert created.headers["location"] == f"/notes/{note.id}"
    first_etag = created.headers["etag"]
    fetched = notes["get"].sync_detailed(note.id, client=client)
    assert parsed(fetched, 200, models["NoteResponse"]).title == note.title
    assert fetched.headers["etag"] == first_etag

    change = models["NoteUpdate"](title="고친 제목 ✨")
    updated = notes["update"].sync_detailed(note.id, client=client, body=change, if_match=first_etag)
    assert parsed(updated, 200, models["NoteResponse"]).title == "고친 제목 ✨"
    current_etag = updated.headers["etag"]
    assert current_etag != first_etag
    stale = notes["update"].sync_detailed(note.id, client=client, body=change, if_match=first_etag)
    assert parsed(stale, 412, models["ErrorResponse"]).detail

    by_tag = api(generated, "notes", "notes-list_by_tag")
    tagged = parsed(by_tag.sync_detailed("공부", client=client), 200, models["NotePageResponse"])
    assert [listed.id for listed in tagged.notes] == [note.id]
    assert parsed(by_tag.sync_detailed("a/b", client=client), 200, models["NotePageResponse"]).total_count == 0
    tags = parsed(api(generated, "tags", "tags-list").sync_detailed(client=client), 200, models["TagListResponse"])
    assert {(tag.name, tag.note_count) for tag in tags.tags} == {("공부", 1), ("🐍 python", 1)}
    page = parsed(api(generated, "notes", "notes-list").sync_detailed(client=client), 200, models["NotePageResponse"])
    assert page.total_count == 1

    refused = notes["delete"].sync_detailed(note.id, client=client, if_match=first_etag)
    assert parsed(refused, 412, models["ErrorResponse"]).detail
    deleted = notes["delete"].sync_detailed(note.id, client=client, if_match=current_etag)
    assert (deleted.status_code, deleted.content, deleted.parsed) == (204, b"", None)
    assert parsed(notes["get"].sync_detailed(note.id, client=client), 404, models["ErrorResponse"]).detail


MODEL_NAMES = [
    "UserCreate",
    "UserResponse",
    "LoginForm",
    "TokenResponse",
    "ErrorResponse",
    "HTTPValidationError",
    "ValidationError",
    "NoteCreate",
    "NoteUpdate",
    "NoteResponse",
    "NotePageResponse",
    "TagListResponse",
    "HealthResponse",
]
