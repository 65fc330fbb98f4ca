"""SPEC §15 through the whole app in-process: CORS, compression and trusted hosts.

The app under test is the production one built with ``CORS_ORIGINS`` and
``TRUSTED_HOSTS`` set, plus one test-only streamed route (the shape of an
export). The session's ``client`` (nothing set) shows the defaults. Proxy
headers belong to the server, so they are tested on ``python main.py`` in
``test_proxy_headers_process.py``.
"""

import gzip
import logging
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from starlette.types import Message

from main import create_app
from middlewares.body_limit import MAX_BODY_BYTES
from tests.support.app import PASSWORD, make_settings, new_user, unique_email
from tests.support.notes import create_note

ALLOWED_ORIGIN = "https://app.example.test"
SECOND_ORIGIN = "http://localhost:5173"
OTHER_ORIGIN = "https://evil.example.test"
API_HOST = "api.example.test"
TRUSTED_HOSTS = f"{API_HOST},*.til.example.test"
EXPOSED = {"etag", "location", "retry-after", "x-request-id"}
REQUEST_HEADERS = {"authorization", "content-type", "if-match", "x-request-id"}
API_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

STREAM_PATH = "/test-only/stream"
STREAM_CHUNKS = [f"chunk {index:02d} ".encode() * 30 + b"\n" for index in range(12)]  # 12 x 271 bytes
LONG_CONTENT = "오늘 배운 것: gzip streams. " * 800  # 20 000 characters, well over 1 KiB


async def _streamed_route() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in STREAM_CHUNKS:
            yield chunk

    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8")


@pytest.fixture(scope="module")
def proxied_app(database_url: str) -> FastAPI:
    origins = f"{ALLOWED_ORIGIN},{SECOND_ORIGIN}"
    built = create_app(make_settings(database_url, cors_origins=origins, trusted_hosts=TRUSTED_HOSTS))
    built.add_api_route(STREAM_PATH, _streamed_route, methods=["GET"], include_in_schema=False)
    return built


@pytest.fixture
def web(proxied_app: FastAPI, app: FastAPI) -> Iterator[TestClient]:
    """A client of the app with CORS and trusted hosts on, sending ``Host: api.example.test``."""
    proxied_app.state.container.wire()
    try:
        with TestClient(proxied_app, base_url=f"http://{API_HOST}") as test_client:
            yield test_client
    finally:
        app.state.container.wire()  # the session's app takes the wiring back


def cors_headers(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {item.strip() for item in value.split(",") if item.strip()}


def preflight(client: TestClient, path: str, *, origin: str, method: str, headers: str | None = None) -> Any:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


def request_line(caplog: pytest.LogCaptureFixture, request_id: str) -> logging.LogRecord:
    lines = [r for r in caplog.records if r.name == "activity" and getattr(r, "request_id", None) == request_id]
    assert len(lines) == 1, lines
    return lines[0]


# -- CORS ---------------------------------------------------------------------


def test_an_allowed_origin_gets_its_own_origin_back_vary_and_the_exposed_headers(web: TestClient) -> None:
    _, headers = new_user(web)

    response = web.post(
        "/notes",
        json={"title": "t", "content": "c", "memo_date": "20261201"},
        headers=headers | {"Origin": ALLOWED_ORIGIN},
    )

    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in listed(response.headers["Vary"])
    assert {name.lower() for name in listed(response.headers["Access-Control-Expose-Headers"])} == EXPOSED
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert set(response.headers) >= {"etag", "location", "x-request-id"}  # what is exposed is really sent


def test_each_listed_origin_is_answered_with_itself_never_a_wildcard(web: TestClient) -> None:
    for origin in (ALLOWED_ORIGIN, SECOND_ORIGIN):
        response = web.get("/health", headers={"Origin": origin})

        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "*" not in response.headers["Access-Control-Allow-Origin"]


def test_errors_carry_cors_headers_too_so_the_page_can_read_them(web: TestClient) -> None:
    unauthenticated = web.get("/users/me", headers={"Origin": ALLOWED_ORIGIN})
    invalid = web.post("/notes", json={}, headers={"Origin": ALLOWED_ORIGIN})

    for response in (unauthenticated, invalid):
        assert response.status_code in (401, 422)
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert "x-request-id" in listed(response.headers["Access-Control-Expose-Headers"].lower())


def test_a_throttled_login_exposes_retry_after(web: TestClient) -> None:
    email = unique_email("throttled")
    web.post("/users", json={"name": "Thea", "email": email, "password": PASSWORD})
    for _ in range(5):
        web.post("/users/login", data={"username": email, "password": "wrong password!"})

    response = web.post(
        "/users/login", data={"username": email, "password": "wrong password!"}, headers={"Origin": ALLOWED_ORIGIN}
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "retry-after" in listed(response.headers["Access-Control-Expose-Headers"].lower())


def test_a_preflight_from_an_allowed_origin_answers_200_with_the_methods_and_headers(web: TestClient) -> None:
    response = preflight(
        web, "/notes/01ARZ3NDEKTSV4RRFFQ69G5FAV", origin=ALLOWED_ORIGIN, method="PUT",
        headers="authorization, content-type, if-match, x-request-id",
    )  # fmt: skip

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert listed(response.headers["Access-Control-Allow-Methods"]) >= API_METHODS
    assert {name.lower() for name in listed(response.headers["Access-Control-Allow-Headers"])} >= REQUEST_HEADERS
    assert "Origin" in listed(response.headers["Vary"])
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("method", sorted(API_METHODS))
def test_every_method_of_the_api_passes_the_preflight(web: TestClient, method: str) -> None:
    response = preflight(web, "/notes", origin=SECOND_ORIGIN, method=method, headers="Authorization")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SECOND_ORIGIN


def test_a_preflight_asking_for_another_header_is_refused_in_json(web: TestClient) -> None:
    response = preflight(web, "/notes", origin=ALLOWED_ORIGIN, method="POST", headers="authorization, x-secret")

    assert response.status_code == 400
    assert response.json() == {"detail": "Disallowed CORS headers"}
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_another_origin_gets_no_cors_header(web: TestClient) -> None:
    _, headers = new_user(web)
    note = create_note(web, headers)

    simple = web.get(f"/notes/{note['id']}", headers=headers | {"Origin": OTHER_ORIGIN})
    near_miss = web.get("/health", headers={"Origin": f"{ALLOWED_ORIGIN}:8443"})
    asked = preflight(web, "/notes", origin=OTHER_ORIGIN, method="POST", headers="authorization")

    assert simple.status_code == 200
    assert near_miss.status_code == 200
    for response in (simple, near_miss, asked):
        assert cors_headers(response) == {}
        assert "Origin" in listed(response.headers["Vary"])  # a cache keeps the origins apart
    # Without CORS a preflight is just an OPTIONS the route does not have.
    assert asked.status_code == 405
    assert asked.json() == {"detail": "Method Not Allowed"}


def test_no_cors_at_all_when_cors_origins_is_unset(client: TestClient) -> None:
    _, headers = new_user(client)

    simple = client.get("/users/me", headers=headers | {"Origin": ALLOWED_ORIGIN})
    asked = preflight(client, "/users/me", origin=ALLOWED_ORIGIN, method="GET", headers="authorization")

    assert simple.status_code == 200
    assert cors_headers(simple) == {}
    assert asked.status_code == 405
    assert cors_headers(asked) == {}


def test_a_preflight_is_one_request_line_with_its_request_id(web: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="activity")

    response = preflight(web, "/notes", origin=ALLOWED_ORIGIN, method="POST", headers="content-type")

    line = request_line(caplog, response.headers["X-Request-ID"])
    assert (line.method, line.path, line.status) == ("OPTIONS", "/notes", 200)


# -- compression --------------------------------------------------------------


def test_a_large_response_is_gzipped_when_accepted_and_its_etag_is_unchanged(web: TestClient) -> None:
    _, headers = new_user(web)
    note = create_note(web, headers, content=LONG_CONTENT)

    plain = web.get(f"/notes/{note['id']}", headers=headers | {"Accept-Encoding": "identity"})
    zipped = web.get(f"/notes/{note['id']}", headers=headers | {"Accept-Encoding": "gzip, deflate"})

    assert "Content-Encoding" not in plain.headers
    assert int(plain.headers["Content-Length"]) == len(plain.content) > 1024
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) < len(plain.content) // 4
    assert "Accept-Encoding" in listed(zipped.headers["Vary"])
    assert zipped.json() == plain.json()  # httpx decoded it
    assert zipped.headers["ETag"] == plain.headers["ETag"] == '"1"'


def test_a_put_answered_in_gzip_keeps_the_version_in_its_etag(web: TestClient) -> None:
    _, headers = new_user(web)
    note = create_note(web, headers)

    updated = web.put(
        f"/notes/{note['id']}",
        json={"content": LONG_CONTENT},
        headers=headers | {"Accept-Encoding": "gzip", "If-Match": '"1"'},
    )

    assert updated.status_code == 200
    assert updated.headers["Content-Encoding"] == "gzip"
    assert updated.headers["ETag"] == '"2"'
    again = web.put(f"/notes/{note['id']}", json={"title": "next"}, headers=headers | {"If-Match": '"2"'})
    assert again.status_code == 200


def test_a_small_response_is_never_gzipped(web: TestClient) -> None:
    _, headers = new_user(web)
    note = create_note(web, headers)

    response = web.get(f"/notes/{note['id']}", headers=headers | {"Accept-Encoding": "gzip"})

    assert len(response.content) < 1024
    assert "Content-Encoding" not in response.headers


def test_the_default_app_compresses_too(client: TestClient) -> None:
    response = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})

    assert response.headers["Content-Encoding"] == "gzip"


def test_a_gzipped_response_is_logged_with_its_status_and_duration(
    web: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="activity")

    response = web.get("/openapi.json", headers={"Accept-Encoding": "gzip"})

    assert response.headers["Content-Encoding"] == "gzip"
    line = request_line(caplog, response.headers["X-Request-ID"])
    assert (line.method, line.path, line.status) == ("GET", "/openapi.json", 200)
    assert line.duration_ms > 0


def test_the_body_limit_still_answers_413_when_gzip_is_accepted(web: TestClient) -> None:
    _, headers = new_user(web)
    body = b'{"title": "t", "content": "' + b"x" * MAX_BODY_BYTES + b'", "memo_date": "20261201"}'

    response = web.post(
        "/notes",
        content=body,
        headers=headers | {"Accept-Encoding": "gzip", "Content-Type": "application/json", "Origin": ALLOWED_ORIGIN},
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1 MiB"}
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


async def _asgi_get(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    """The messages the app sends for ``GET path``, as the server would receive them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", API_HOST.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": (API_HOST, 80),
    }
    sent: list[Message] = []
    requested = False
    answered = anyio.Event()

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # then the client goes, as a server reports it
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await app(scope, receive, send)
    return sent


def test_a_streamed_response_is_compressed_as_it_streams(proxied_app: FastAPI) -> None:
    messages = anyio.run(_asgi_get, proxied_app, STREAM_PATH, [(b"accept-encoding", b"gzip")])

    start, *bodies = messages
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    assert start["status"] == 200
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers
    chunks = [message["body"] for message in bodies if message["body"]]
    assert len(chunks) >= len(STREAM_CHUNKS)  # each chunk went out compressed, none waited for the end
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decompressor.decompress(chunks[0]) == STREAM_CHUNKS[0]  # the first chunk decodes on its own
    assert gzip.decompress(b"".join(chunks)) == b"".join(STREAM_CHUNKS)
    assert sum(map(len, chunks)) < sum(map(len, STREAM_CHUNKS))


def test_a_streamed_response_is_left_alone_without_accept_encoding(proxied_app: FastAPI) -> None:
    messages = anyio.run(_asgi_get, proxied_app, STREAM_PATH, [])

    start, *bodies = messages
    headers = {name.decode().lower() for name, _ in start["headers"]}
    assert "content-encoding" not in headers
    assert b"".join(message["body"] for message in bodies) == b"".join(STREAM_CHUNKS)


# -- trusted hosts --------------------------------------------------------------


@pytest.mark.parametrize("host", [API_HOST, f"{API_HOST}:8443", "API.Example.Test", "eu.til.example.test"])
def test_a_trusted_host_is_answered(web: TestClient, host: str) -> None:
    response = web.get("/openapi.json", headers={"Host": host})

    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example.test", "127.0.0.1:8000", "til.example.test", f"{API_HOST}.evil"])
def test_another_host_gets_400_in_json_and_one_request_line(
    web: TestClient, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    caplog.set_level(logging.INFO, logger="activity")
    _, headers = new_user(web)

    response = web.get("/users/me", headers=headers | {"Host": host, "Origin": ALLOWED_ORIGIN})

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid host header"}
    assert response.headers["Content-Type"] == "application/json"
    line = request_line(caplog, response.headers["X-Request-ID"])
    assert (line.method, line.path, line.status, line.user_id) == ("GET", "/users/me", 400, None)


def test_a_refused_host_changes_nothing(web: TestClient) -> None:
    email = unique_email("refused")

    refused = web.post(
        "/users", json={"name": "Rhea", "email": email, "password": PASSWORD}, headers={"Host": "evil.test"}
    )
    accepted = web.post("/users", json={"name": "Rhea", "email": email, "password": PASSWORD})

    assert refused.status_code == 400
    assert accepted.status_code == 201  # the refused signup created no account


@pytest.mark.parametrize("host", ["10.0.0.7:8000", "evil.example.test", "[::1]:8000"])
def test_health_answers_on_any_host(web: TestClient, host: str) -> None:
    response = web.get("/health", headers={"Host": host})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_any_host_is_answered_when_trusted_hosts_is_unset(client: TestClient) -> None:
    response = client.get("/openapi.json", headers={"Host": "whatever.example.test"})

    assert response.status_code == 200
