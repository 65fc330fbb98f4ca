"""SPEC §7 on a real server: the activity log as the process writes it to stdout.

``python main.py`` runs in a temporary directory (SQLite under its
``./data``); the 500s come from ``uvicorn ... --factory`` serving the
production app plus a raising route (``tests/system/failing_app.py``).
"""

import re
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from observability.log import LOG_CONFIG_FILE
from tests.support.app import TEST_JWT_SECRET, bearer, create_personal_token, login, migrate, signup, unique_email
from tests.support.live_server import LiveServer, is_request_line, live_server, main_py, uvicorn_factory
from tests.system.failing_app import FAIL_AS_USER_PATH, FAIL_MID_STREAM_PATH, FAIL_PATH

REQUEST_LINE_FIELDS = {
    "timestamp",
    "level",
    "event",
    "request_id",
    "user_id",
    "auth",
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
}
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The outbox relay thread runs once at start and then not again for an hour: its lines
    # belong to no request, and must not land between the lines of the requests below.
    env = {"EMAIL_RELAY_INTERVAL_SECONDS": "3600"}
    with live_server(name="main.py", command=main_py(), workdir=tmp_path_factory.mktemp("main-py"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def failing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``uvicorn --factory`` with a raising route, at ``LOG_LEVEL=WARNING``."""
    workdir = tmp_path_factory.mktemp("failing-app")
    database_url = f"sqlite:///{workdir / 'til.db'}"
    migrate(database_url)  # the factory never migrates
    with live_server(
        name="failing-app",
        command=uvicorn_factory("tests.system.failing_app:create_failing_app"),
        workdir=workdir,
        env={"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET, "LOG_LEVEL": "WARNING"},
    ) as running:
        yield running


def new_request_id() -> str:
    return f"obs-{uuid.uuid4().hex}"


def only_line(server: LiveServer, request_id: str) -> dict[str, Any]:
    lines = server.request_lines(request_id)
    assert len(lines) == 1, lines
    return lines[0]


def signed_in(http: httpx.Client) -> tuple[dict[str, Any], dict[str, str]]:
    email = unique_email("obs")
    user = signup(http, email=email)
    return user, bearer(login(http, email))


def test_request_line_has_exactly_the_spec_fields(server: LiveServer, http: httpx.Client) -> None:
    request_id = new_request_id()

    response = http.get(
        "/health", params={"verbose": "1", "token": "not-in-the-log"}, headers={"X-Request-ID": request_id}
    )

    assert response.status_code == 200
    line = only_line(server, request_id)
    assert set(line) == REQUEST_LINE_FIELDS
    timestamp = datetime.fromisoformat(line["timestamp"])
    assert timestamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(tz=timestamp.tzinfo) - timestamp) < timedelta(minutes=1)
    assert line["level"] == "INFO"
    assert line["event"] == "request"
    assert line["request_id"] == request_id
    assert line["user_id"] is None
    assert line["auth"] is None
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert 0 <= line["duration_ms"] < 10_000
    assert re.fullmatch(r"127\.0\.0\.1:\d+", line["client"])


def test_the_line_of_an_authenticated_call_names_the_user_and_the_response_request_id(
    server: LiveServer, http: httpx.Client
) -> None:
    user, headers = signed_in(http)

    response = http.get("/users/me", headers=headers)

    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert SANE_ID.fullmatch(request_id)
    line = only_line(server, request_id)
    assert line["user_id"] == user["id"]
    assert line["auth"] == "login"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/users/me", 200)


def test_a_personal_token_request_names_its_user_and_kind_and_never_the_token(
    server: LiveServer, http: httpx.Client
) -> None:
    user, headers = signed_in(http)
    created = create_personal_token(http, headers)
    personal = bearer(created["token"])

    served = http.get("/notes", headers=personal)
    refused = http.post("/users/logout", headers=personal)
    deleted = http.delete(f"/users/me/tokens/{created['id']}", headers=headers)
    gone = http.get("/notes", headers=personal)

    assert (served.status_code, refused.status_code, deleted.status_code, gone.status_code) == (200, 403, 204, 401)
    lines = {
        name: only_line(server, r.headers["X-Request-ID"])
        for name, r in [("served", served), ("refused", refused), ("deleted", deleted), ("gone", gone)]
    }
    assert (lines["served"]["user_id"], lines["served"]["auth"]) == (user["id"], "pat")
    assert (lines["refused"]["user_id"], lines["refused"]["auth"], lines["refused"]["status"]) == (
        user["id"],
        "pat",
        403,
    )
    assert (lines["deleted"]["user_id"], lines["deleted"]["auth"]) == (user["id"], "login")
    assert (lines["gone"]["user_id"], lines["gone"]["auth"]) == (None, None)
    secret = created["token"].removeprefix("til_pat_")
    assert not [line for line in server.stdout_lines() + server.stderr_lines() if secret in line]


def test_the_path_is_the_requested_path_not_the_route_template(server: LiveServer, http: httpx.Client) -> None:
    user, headers = signed_in(http)

    response = http.get(f"/users/{user['id']}", params={"x": "1"}, headers=headers)

    assert response.status_code == 200
    line = only_line(server, response.headers["X-Request-ID"])
    assert line["path"] == f"/users/{user['id']}"
    assert line["user_id"] == user["id"]


@pytest.mark.parametrize("sent", ["a", "x" * 64, "Abc.def_ghi-0123456789", "0"], ids=["one", "64", "mixed", "digit"])
def test_a_sane_incoming_request_id_is_reused(server: LiveServer, http: httpx.Client, sent: str) -> None:
    response = http.get("/health", headers={"X-Request-ID": sent})

    assert response.headers["X-Request-ID"] == sent
    # The same id may be logged by earlier runs of this test: the newest line is this request's.
    assert server.request_lines(sent)[-1]["path"] == "/health"


@pytest.mark.parametrize(
    "sent",
    ["x" * 65, "has space", "slash/id", "colon:id", 'quote"id', "semi;id", "", "tab\tid", "bad!"],
    ids=["65-chars", "space", "slash", "colon", "quote", "semicolon", "empty", "tab", "bang"],
)
def test_an_insane_incoming_request_id_is_replaced(server: LiveServer, http: httpx.Client, sent: str) -> None:
    response = http.get("/health", headers={"X-Request-ID": sent})

    replaced = response.headers["X-Request-ID"]
    assert replaced != sent
    assert SANE_ID.fullmatch(replaced)
    line = only_line(server, replaced)
    assert line["path"] == "/health"
    assert not [record for record in server.records() if record.get("request_id") == sent]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        # {"alg": "none"} with a plausible payload and no signature.
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMUpBTkVYQU1QTEUiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MH0.",
    ],
    ids=["garbage", "three-dots", "alg-none"],
)
def test_a_bad_bearer_token_gives_401_and_an_anonymous_line(server: LiveServer, http: httpx.Client, token: str) -> None:
    response = http.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    line = only_line(server, response.headers["X-Request-ID"])
    assert line["user_id"] is None
    assert line["status"] == 401


def test_exactly_one_request_line_per_request_whatever_the_outcome(server: LiveServer, http: httpx.Client) -> None:
    user, headers = signed_in(http)
    calls = {
        "200": ("GET", "/users/me", {"headers": headers}),
        "401": ("GET", "/users/me", {}),
        "403": ("GET", "/users/01ARZ3NDEKTSV4RRFFQ69G5FAV", {"headers": headers}),
        "404": ("GET", "/no/such/route", {}),
        "405": ("PATCH", "/health", {}),
        "413": (
            "POST",
            "/users",
            {"content": b"x" * (1024 * 1024 + 1), "headers": {"content-type": "application/json"}},
        ),
        "413-chunked": (
            "POST",
            "/users",
            {"content": iter([b"x" * (256 * 1024)] * 8), "headers": {"content-type": "application/json"}},
        ),
        "422": ("POST", "/users", {"json": {"name": "x"}}),
        "422-query": ("GET", "/users", {"params": {"page": "0"}, "headers": headers}),
        "204": ("DELETE", "/users", {"headers": headers}),
    }
    sent: dict[str, str] = {}
    for expected, (method, path, options) in calls.items():
        request_id = new_request_id()
        extra_headers = {**options.pop("headers", {}), "X-Request-ID": request_id}
        response = http.request(method, path, headers=extra_headers, **options)
        assert str(response.status_code) == expected.split("-")[0], (path, response.text)
        sent[request_id] = expected

    # One more request, answered after all the others: once its line is out, theirs are too.
    last = new_request_id()
    http.get("/health", headers={"X-Request-ID": last})
    server.request_lines(last)
    records = server.records()
    for request_id, expected in sent.items():
        lines = [r for r in records if is_request_line(r) and r.get("request_id") == request_id]
        assert len(lines) == 1, (expected, lines)
        assert str(lines[0]["status"]) == expected.split("-")[0]
    # The user was authenticated up to its deletion, anonymous after.
    by_status = {sent[r["request_id"]]: r for r in records if r.get("request_id") in sent and is_request_line(r)}
    assert by_status["204"]["user_id"] == user["id"]
    assert by_status["401"]["user_id"] is None
    assert by_status["404"]["path"] == "/no/such/route"


def test_every_line_written_during_a_request_carries_its_ids(server: LiveServer, http: httpx.Client) -> None:
    first = new_request_id()
    http.get("/health", headers={"X-Request-ID": first})
    server.request_lines(first)
    start = len(server.stdout_lines())

    email = unique_email("obs")
    user = signup(http, email=email)
    headers = bearer(login(http, email))
    deleted = http.delete("/users", headers=headers)
    assert deleted.status_code == 204
    last = new_request_id()
    http.get("/health", headers={"X-Request-ID": last})
    server.request_lines(last)

    # Requests are sequential: the lines between two request lines belong to the second request,
    # except the welcome email's, which is sent after the signup's response, on the email threads:
    # those carry the signup's ids, wherever they land.
    records = server.records()[start:]
    request_lines = {record["request_id"]: record for record in records if is_request_line(record)}
    segment: list[dict[str, Any]] = []
    segments: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for record in records:
        if is_request_line(record):
            segments.append((record, segment))
            segment = []
        elif record.get("outbox_id") is not None:
            owner = request_lines[record["request_id"]]
            assert (owner["method"], owner["path"]) == ("POST", "/users"), record
            assert record["user_id"] == owner["user_id"], record
        else:
            segment.append(record)
    by_path = {(line["method"], line["path"]): others for line, others in segments}
    assert set(by_path) >= {("POST", "/users"), ("POST", "/users/login"), ("DELETE", "/users")}
    for line, others in segments:
        for other in others:
            assert (other["request_id"], other["user_id"]) == (line["request_id"], line["user_id"]), (line, other)
    assert "user registered" in [other["event"] for other in by_path["POST", "/users"]]
    deletion = [other for other in by_path["DELETE", "/users"] if other["event"] == "user deleted"]
    assert len(deletion) == 1
    assert deletion[0]["request_id"] == deleted.headers["X-Request-ID"]
    assert deletion[0]["user_id"] == user["id"]


def test_an_unhandled_exception_gives_a_json_500_one_request_line_and_a_traceback(failing_server: LiveServer) -> None:
    request_id = new_request_id()

    response = httpx.get(f"{failing_server.base_url}{FAIL_PATH}", headers={"X-Request-ID": request_id}, timeout=10)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Internal Server Error", "request_id": request_id}
    assert response.headers["X-Request-ID"] == request_id
    line = only_line(failing_server, request_id)
    assert (line["status"], line["path"], line["user_id"]) == (500, FAIL_PATH, None)

    # The traceback is logged by the request-context middleware, outside the activity log: its line
    # comes just after the request line, so it is waited for too.
    def error_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r.get("request_id") == request_id and r["level"] == "ERROR"]

    errors = error_lines(failing_server.wait_for(lambda records: bool(error_lines(records)), seconds=5))
    assert len(errors) == 1
    assert errors[0]["event"] == "unhandled error"
    assert "Traceback" in errors[0]["exc_info"]
    assert "Boom: the test route failed on purpose" in errors[0]["exc_info"]


def test_the_lines_of_a_failing_request_name_its_user(failing_server: LiveServer) -> None:
    with httpx.Client(base_url=failing_server.base_url, timeout=10) as http:
        user, headers = signed_in(http)

        response = http.get(FAIL_AS_USER_PATH, headers=headers)

    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert response.json() == {"detail": "Internal Server Error", "request_id": request_id}
    line = only_line(failing_server, request_id)
    assert (line["status"], line["user_id"]) == (500, user["id"])
    others = [r for r in failing_server.records() if r.get("request_id") == request_id and not is_request_line(r)]
    assert sorted(r["event"] for r in others) == ["about to fail on purpose", "unhandled error"]
    assert all(r["user_id"] == user["id"] for r in others)


def test_a_failure_after_the_response_started_is_logged_once_with_its_request(failing_server: LiveServer) -> None:
    request_id = new_request_id()

    with pytest.raises(httpx.RemoteProtocolError):  # uvicorn drops the half-sent response
        httpx.get(f"{failing_server.base_url}{FAIL_MID_STREAM_PATH}", headers={"X-Request-ID": request_id}, timeout=10)

    line = only_line(failing_server, request_id)
    assert (line["status"], line["path"]) == (200, FAIL_MID_STREAM_PATH)
    records = failing_server.wait_for(lambda rs: any(r.get("exc_info") and r["request_id"] == request_id for r in rs))
    tracebacks = [r for r in records if r.get("exc_info") and r["request_id"] == request_id]
    assert len(tracebacks) == 1
    assert tracebacks[0]["logger"] == "uvicorn.error"
    assert "Boom: the test stream failed on purpose" in tracebacks[0]["exc_info"]


def test_uvicorn_writes_json_lines_only_and_no_access_log(server: LiveServer, http: httpx.Client) -> None:
    # A request uvicorn itself refuses: its error log, not the app, answers it.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
        assert connection.recv(1024).startswith(b"HTTP/1.1 400")

    records = server.wait_for(lambda rs: any(r.get("event") == "Invalid HTTP request received." for r in rs))

    refused = next(r for r in records if r.get("event") == "Invalid HTTP request received.")
    assert (refused["logger"], refused["level"]) == ("uvicorn.error", "WARNING")
    uvicorn_events = {r["event"] for r in records if r.get("logger") == "uvicorn.error"}
    assert {f"Started server process [{server.process.pid}]", "Application startup complete."} <= uvicorn_events
    assert any(event.startswith("Uvicorn running on http://127.0.0.1:") for event in uvicorn_events)
    assert not [r for r in records if r.get("logger", "").startswith("uvicorn.access")]
    assert not [line for line in server.stdout_lines() if 'HTTP/1.1" ' in line]
    assert server.stderr_lines() == []


def test_the_factory_writes_json_lines_only_and_request_lines_whatever_the_log_level(
    failing_server: LiveServer,
) -> None:
    request_id = new_request_id()
    httpx.get(f"{failing_server.base_url}/health", headers={"X-Request-ID": request_id}, timeout=10)

    line = only_line(failing_server, request_id)
    records = failing_server.records()  # fails on a line that is not JSON

    assert line["level"] == "INFO"
    # LOG_LEVEL=WARNING holds back every other INFO line, uvicorn's startup lines included.
    assert [r for r in records if r["level"] == "INFO" and r is not line and r["event"] != "request"] == []
    assert not [r for r in records if r.get("logger", "").startswith("uvicorn.access")]
    assert failing_server.stderr_lines() == []


def test_uvicorn_workers_with_the_shipped_log_config_write_json_lines_only(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'til.db'}"
    migrate(database_url)
    command = uvicorn_factory("main:create_app", "--workers", "2", "--log-config", str(LOG_CONFIG_FILE))
    env = {"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET}
    with live_server(name="workers", command=command, workdir=tmp_path / "cwd", env=env) as workers:
        request_id = new_request_id()
        httpx.get(f"{workers.base_url}/health", headers={"X-Request-ID": request_id}, timeout=10)
        only_line(workers, request_id)
    records = workers.records()  # the supervisor's lines included: all JSON

    assert any(r["event"].startswith("Started parent process") for r in records)
    assert any(r["event"].startswith("Stopping parent process") for r in records)
    assert workers.stderr_lines() == []
