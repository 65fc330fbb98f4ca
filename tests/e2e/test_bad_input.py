"""The bad-input sweep, on SQLite and MariaDB: every kind of malformed request
the service can be sent, and what it answers.

Through the app (TestClient): oversize fields, wrong types, bodies that are
not JSON objects, bodies over 1 MiB (declared and chunked) on every route,
pagination out of bounds, NUL bytes in every string field and in paths,
invalid UTF-8 and lone surrogates in JSON bodies, form bodies, query strings
and paths, very long tag names and paths, arrays where objects belong, and
JSON nested past the parser's limit. Each answer must be the exact 4xx status
with a JSON ``{"detail": ...}`` body (a 422's detail is the list of errors),
within 10 s; afterwards the database must be exactly as before (row counts of
every table, the newest change of users and notes, and the victim's account,
note, ETag and tags) and the service must answer ``/health`` and a normal
request.

Through a real server and raw sockets, what a test client cannot send: a
``Content-Length`` that lies either way, a chunked body over 1 MiB (finished
or not), a body that never comes, and bytes that are not HTTP at all. The last
never reach the app: uvicorn answers them itself, ``400 Invalid HTTP request
received.`` in text/plain, and closes the connection (README, "Bad input").
"""

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from mail.infra.db_models import OutboxEmailRow
from note.infra.db_models import NoteRow, TagRow, note_tags
from tests.support.app import PASSWORD, TEST_JWT_SECRET, bearer, login, signup, unique_email
from tests.support.live_server import LiveServer, live_server, main_py
from user.infra.db_models import LoginThrottleRow, UserRow
from web.schemas import MAX_PAGE

MIB = 1024 * 1024
RESPONSE_SECONDS = 10.0
NOTE = {"title": "a note", "content": "what I learned", "memo_date": "20261127", "tags": ["study"]}
COUNTED = {
    "users": UserRow,
    "notes": NoteRow,
    "tags": TagRow,
    "note_tags": note_tags,
    "outbox_emails": OutboxEmailRow,
    "login_throttles": LoginThrottleRow,
}


@dataclass(frozen=True)
class Victim:
    """A USER with one tagged note: what a bad request must leave as it was."""

    id: str
    email: str
    headers: dict[str, str]
    note_id: str


def new_victim(http: httpx.Client) -> Victim:
    email = unique_email("victim")
    user = signup(http, name="Victim", email=email)
    headers = bearer(login(http, email))
    note = http.post("/notes", json={**NOTE, "tags": ["study", "파이썬"]}, headers=headers)
    assert note.status_code == 201, note.text
    return Victim(id=user["id"], email=email, headers=headers, note_id=note.json()["id"])


def snapshot(engine: Engine, http: httpx.Client, victim: Victim, *, failed_logins_too: bool = True) -> dict[str, Any]:
    """Row counts of every table, the newest change of users and notes, and the victim as the API shows it.

    A failed login is recorded on purpose (the throttle counts it, for unknown emails too), so the cases
    that answer 401 to a login leave ``login_throttles`` out.
    """
    with engine.connect() as connection:
        state: dict[str, Any] = {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in COUNTED.items()
            if failed_logins_too or name != "login_throttles"
        }
        state["newest user change"] = connection.scalar(select(func.max(UserRow.updated_at)))
        state["newest note change"] = connection.scalar(select(func.max(NoteRow.updated_at)))
    note = http.get(f"/notes/{victim.note_id}", headers=victim.headers)
    state["me"] = http.get("/users/me", headers=victim.headers).json()
    state["note"] = (note.status_code, note.json(), note.headers.get("etag"))
    state["tags"] = http.get("/tags", headers=victim.headers).json()
    return state


def assert_refused(response: httpx.Response, status: int) -> None:
    """``status`` with a JSON ``{"detail": ...}``: a list of errors for a 422, a sentence otherwise."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert set(body) == {"detail"}, body
    if status == 422:
        assert body["detail"], body
        assert all({"type", "loc", "msg"} <= set(error) for error in body["detail"]), body
    else:
        assert isinstance(body["detail"], str), body
        assert body["detail"], body


def assert_healthy(http: httpx.Client, victim: Victim) -> None:
    assert http.get("/health").json()["status"] == "ok"
    assert http.get("/users/me", headers=victim.headers).status_code == 200


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[TestClient]:
    app.state.container.wire()  # as conftest's `client` does
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def victim(http: TestClient) -> Victim:
    return new_victim(http)


# -- the cases -------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One malformed request; ``{note}`` in the path is the victim's note."""

    method: str
    path: str
    status: int
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def records_failed_login(self) -> bool:
        """A login answered 401 records a failed attempt: the throttle's row is the one write allowed."""
        return self.path == "/users/login" and self.status == 401


def body(method: str, path: str, value: Any, status: int = 422) -> Bad:
    return Bad(method, path, status, json=value)


def raw(method: str, path: str, content: bytes, *, content_type: str = "application/json", status: int = 422) -> Bad:
    return Bad(method, path, status, content=content, content_type=content_type)


def signup_with(**fields: Any) -> dict[str, Any]:
    return {"name": "Mallory", "email": unique_email("mallory"), "password": PASSWORD, **fields}


def note_with(**fields: Any) -> dict[str, Any]:
    return {**NOTE, **fields}


def deeply_nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


X10K = "x" * 10_000
# Failed logins count toward a lockout that outlives the run (MariaDB): a fresh address each run.
RUN = uuid.uuid4().hex[:12].encode()
DISTINCT_TAGS_33 = [f"tag-{number}" for number in range(33)]
DISTINCT_TAGS_10K = [f"t{number}" for number in range(10_000)]
NOTE_PATHS = [("POST", "/notes"), ("PUT", "/notes/{note}")]

CASES: dict[str, Bad] = {
    # oversize fields
    "signup-name-33": body("POST", "/users", signup_with(name="x" * 33)),
    "signup-name-10k": body("POST", "/users", signup_with(name=X10K)),
    "signup-password-65": body("POST", "/users", signup_with(password="가" * 65)),
    "signup-password-10k": body("POST", "/users", signup_with(password=X10K)),
    "signup-email-10k": body("POST", "/users", signup_with(email=X10K + "@example.com")),
    "update-user-name-10k": body("PUT", "/users", {"name": X10K}),
    "update-user-password-10k": body("PUT", "/users", {"password": X10K, "current_password": PASSWORD}),
    "update-user-current-password-10k": body("PUT", "/users", {"password": "a new password", "current_password": X10K}),
    **{
        f"{method.lower()}-note-{name}": body(method, path, note_with(**fields))
        for method, path in NOTE_PATHS
        for name, fields in {
            "title-65": {"title": "😀" * 65},
            "title-10k": {"title": X10K},
            "content-20001": {"content": "한" * 20_001},
            "content-1m": {"content": "x" * 1_000_000},
            "tag-33": {"tags": ["x" * 33]},
            "tag-10k": {"tags": [X10K]},
            "tags-33-distinct": {"tags": DISTINCT_TAGS_33},
            "tags-10k-distinct": {"tags": DISTINCT_TAGS_10K},
        }.items()
    },
    # wrong types
    "signup-name-number": body("POST", "/users", signup_with(name=42)),
    "signup-name-true": body("POST", "/users", signup_with(name=True)),
    "signup-name-null": body("POST", "/users", signup_with(name=None)),
    "signup-email-list": body("POST", "/users", signup_with(email=["a@example.com"])),
    "signup-password-object": body("POST", "/users", signup_with(password={"value": PASSWORD})),
    "update-user-name-number": body("PUT", "/users", {"name": 42}),
    "update-user-password-true": body("PUT", "/users", {"password": True, "current_password": PASSWORD}),
    **{
        f"{method.lower()}-note-{name}": body(method, path, note_with(**fields))
        for method, path in NOTE_PATHS
        for name, fields in {
            "title-number": {"title": 42},
            "content-list": {"content": ["what", "I", "learned"]},
            "date-number": {"memo_date": 20261127},
            "tags-string": {"tags": "study"},
            "tags-object": {"tags": {"study": 1}},
            "tag-number": {"tags": [7]},
            "tag-null": {"tags": [None]},
            "tag-list": {"tags": [["study"]]},
            "tag-object": {"tags": [{"name": "study"}]},
        }.items()
    },
    "post-note-date-null": body("POST", "/notes", note_with(memo_date=None)),
    "login-json": body("POST", "/users/login", {"username": "someone@example.com", "password": PASSWORD}),
    "login-no-password": Bad("POST", "/users/login", 422, content=b"username=a%40example.com", content_type="form"),
    # bodies that are not JSON objects
    **{
        f"{method.lower()}-{path.strip('/').replace('/', '-').replace('{note}', 'id')}-{name}": raw(
            method, path, content, content_type=content_type
        )
        for method, path in [("POST", "/users"), ("PUT", "/users"), *NOTE_PATHS]
        for name, (content, content_type) in {
            "not-json": (b"not json at all", "application/json"),
            "empty": (b"", "application/json"),
            "truncated": (b'{"title": "a no', "application/json"),
            "null": (b"null", "application/json"),
            "number": (b"42", "application/json"),
            "string": (b'"a note"', "application/json"),
            "array": (b"[]", "application/json"),
            "xml": (b"<note><title>a</title></note>", "application/xml"),
            "json-as-text": (json.dumps(NOTE).encode(), "text/plain"),
            "json-as-form": (json.dumps(NOTE).encode(), "application/x-www-form-urlencoded"),
        }.items()
    },
    "login-broken-multipart": raw("POST", "/users/login", b"--zz\r\nbroken", content_type="multipart/form-data"),
    "login-garbage-form": raw("POST", "/users/login", b"%%%&&&===", content_type="application/x-www-form-urlencoded"),
    # arrays where objects belong
    "signup-in-an-array": body("POST", "/users", [signup_with()]),
    "update-user-array": body("PUT", "/users", [{"name": "Rita"}]),
    "post-note-in-an-array": body("POST", "/notes", [NOTE]),
    "put-note-in-an-array": body("PUT", "/notes/{note}", [{"title": "changed"}]),
    # unknown fields do not rescue an invalid body (alone they are ignored: see below)
    "post-note-unknown-fields-and-no-title": body("POST", "/notes", {**NOTE, "title": "", "id": "x", "user_id": "x"}),
    # nested past the parser's limit, and nesting where a string belongs
    **{
        f"{method.lower()}-{path.strip('/').replace('/', '-').replace('{note}', 'id')}-nested-100k": raw(
            method, path, deeply_nested(100_000)
        )
        for method, path in [("POST", "/users"), ("PUT", "/users"), *NOTE_PATHS]
    },
    "post-note-objects-nested-100k": raw("POST", "/notes", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "post-note-title-nested-500": raw(
        "POST", "/notes", json.dumps(note_with(title=None)).replace("null", "[" * 500 + "]" * 500).encode()
    ),
    # NUL in every string field
    "signup-name-nul": body("POST", "/users", signup_with(name="Dex\x00ter")),
    "signup-email-nul": body("POST", "/users", signup_with(email="dex\x00ter@example.com")),
    "signup-password-nul": body("POST", "/users", signup_with(password="pass\x00word 123")),
    "update-user-name-nul": body("PUT", "/users", {"name": "Dex\x00ter"}),
    "update-user-password-nul": body("PUT", "/users", {"password": "pass\x00word 123", "current_password": PASSWORD}),
    "update-user-current-password-nul": body(
        "PUT", "/users", {"password": "a new password", "current_password": "x\x00y"}, status=403
    ),
    **{
        f"{method.lower()}-note-{name}-nul": body(method, path, note_with(**{name: value}))
        for method, path in NOTE_PATHS
        for name, value in {
            "title": "a\x00b",
            "content": "a\x00b",
            "memo_date": "2026\x001127",
            "tags": ["st\x00udy"],
        }.items()
    },
    "login-username-nul": Bad(
        "POST", "/users/login", 401, content=b"username=a%00b" + RUN + b"%40example.com&password=x", content_type="form"
    ),
    "login-password-nul": Bad(
        "POST",
        "/users/login",
        401,
        content=b"username=nul" + RUN + b"%40example.com&password=a%00b",
        content_type="form",
    ),
    # invalid UTF-8 and lone surrogates
    **{
        f"{method.lower()}-{path.strip('/').replace('/', '-').replace('{note}', 'id')}-{name}": raw(
            method, path, content
        )
        for method, path in [("POST", "/users"), ("PUT", "/users"), *NOTE_PATHS]
        for name, content in {
            "invalid-utf8": b'{"name": "Dext\xffr", "title": "\xc3\x28", "content": "\xed\xa0\x80"}',
            "latin1": '{"name": "Ünïcödé", "title": "Ünïcödé"}'.encode("latin-1"),
            "lone-surrogate": b'{"name": "\\ud800\\ud800", "title": "\\udfff", "content": "\\ud800"}',
        }.items()
    },
    **{
        f"signup-{name}-lone-surrogate": raw("POST", "/users", json.dumps(signup_with(**{name: value})).encode())
        for name, value in {"name": "ab\ud800", "email": "a\udfffb@example.com", "password": "\ud800" * 8}.items()
    },
    "post-note-title-nan": raw("POST", "/notes", b'{"title": NaN, "content": "x", "memo_date": "20261127"}'),
    "post-note-title-infinity": raw("POST", "/notes", b'{"title": -Infinity, "content": "x", "memo_date": "20261127"}'),
    "post-note-title-5000-digits": raw("POST", "/notes", b'{"title": ' + b"9" * 5000 + b"}"),
    "signup-name-nested-990": raw("POST", "/users", b'{"name": ' + deeply_nested(990) + b"}"),
    "post-note-tag-lone-surrogate": raw("POST", "/notes", json.dumps(note_with(tags=["\udc00"])).encode()),
    "login-invalid-utf8": Bad(
        "POST",
        "/users/login",
        401,
        content=b"username=\xff\xfe" + RUN + b"%40example.com&password=\xff",
        content_type="form",
    ),
    "login-percent-invalid-utf8": Bad(
        "POST",
        "/users/login",
        401,
        content=b"username=%FF" + RUN + b"%40example.com&password=%ED%A0%80",
        content_type="form",
    ),
    "query-invalid-utf8": Bad("GET", "/notes?items_per_page=%FF", 422),
    "query-5000-digits": Bad("GET", "/notes", 422, params={"page": "9" * 5000}),
    # pagination out of bounds
    **{
        f"{path.strip('/').replace('/', '-')}-{name}-{value}": Bad("GET", path, 422, params={name: value})
        for path in ["/notes", "/notes/tags/study/notes", "/users"]
        for name, values in {
            "items_per_page": [0, -1, 101, 10**9, "ten", 1.5],
            "page": [0, -1, 10**15 + 1, 2**62, 10**30, "1e3"],
        }.items()
        for value in values
    },
    # paths: NUL, invalid UTF-8, 10 000 characters, wrong methods
    **{
        f"{method.lower()}-note-path-{name}": Bad(method, f"/notes/{segment}", 404, json={"title": "changed"})
        for method in ("GET", "PUT", "DELETE")
        for name, segment in {"nul": "%00", "invalid-utf8": "%FF%FE", "surrogate": "%ED%A0%80", "10k": X10K}.items()
    },
    **{
        f"get-user-path-{name}": Bad("GET", f"/users/{segment}", 403)
        for name, segment in {"nul": "%00", "invalid-utf8": "%FF", "10k": X10K}.items()
    },
    "patch-note": Bad("PATCH", "/notes/{note}", 405, json={"title": "changed"}),
    "delete-notes": Bad("DELETE", "/notes", 405),
    "post-tags": Bad("POST", "/tags", 405, json={"name": "study"}),
    "no-such-path": Bad("GET", "/no/such/path", 404),
}


def send(http: httpx.Client, case: Bad, victim: Victim) -> httpx.Response:
    headers = dict(victim.headers)
    if case.content_type is not None:
        headers["content-type"] = (
            "application/x-www-form-urlencoded" if case.content_type == "form" else case.content_type
        )
    if case.content_type == "multipart/form-data":
        headers["content-type"] = "multipart/form-data; boundary=zz"
    url = case.path.replace("{note}", victim.note_id)
    if case.content is not None:
        return http.request(case.method, url, content=case.content, headers=headers, params=case.params or None)
    if case.json is not None:
        return http.request(case.method, url, json=case.json, headers=headers, params=case.params or None)
    return http.request(case.method, url, headers=headers, params=case.params or None)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    http: TestClient, engine: Engine, victim: Victim, case: Bad
) -> None:
    before = snapshot(engine, http, victim, failed_logins_too=not case.records_failed_login)
    started = time.monotonic()

    response = send(http, case, victim)

    assert time.monotonic() - started < RESPONSE_SECONDS
    assert_refused(response, case.status)
    if case.status == 405:
        assert response.headers["allow"], response.headers
    assert snapshot(engine, http, victim, failed_logins_too=not case.records_failed_login) == before
    assert_healthy(http, victim)


def test_a_405_lists_every_method_of_the_path(http: TestClient, victim: Victim) -> None:
    allowed = {
        "/users": "DELETE, GET, POST, PUT",
        "/users/login": "POST",
        "/users/me": "GET",
        "/notes": "GET, POST",
        f"/notes/{victim.note_id}": "DELETE, GET, PUT",
        "/tags": "GET",
        "/health": "GET",
    }
    for path, methods in allowed.items():
        response = http.request("PATCH", path, headers=victim.headers)
        assert_refused(response, 405)
        assert response.headers["allow"] == methods, path


# -- over 1 MiB, through the app ---------------------------------------------

BIG_ROUTES = [
    ("POST", "/users"),
    ("POST", "/users/login"),
    ("PUT", "/users"),
    ("DELETE", "/users"),
    ("POST", "/notes"),
    ("PUT", "/notes/{note}"),
    ("DELETE", "/notes/{note}"),
    ("GET", "/tags"),
]


def big_note_body(size: int) -> bytes:
    """A valid note, padded with JSON whitespace to ``size`` bytes: only its size is wrong."""
    note = json.dumps(note_with(title="too big")).encode()
    return note + b" " * (size - len(note))


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize("route", BIG_ROUTES, ids=[f"{m} {p}" for m, p in BIG_ROUTES])
def test_a_body_over_1_mib_is_413_on_every_route_and_writes_nothing(
    http: TestClient, engine: Engine, victim: Victim, route: tuple[str, str], chunked: bool
) -> None:
    method, path = route
    content = big_note_body(MIB + 1)
    before = snapshot(engine, http, victim)
    headers = {**victim.headers, "content-type": "application/json"}

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    response = http.request(
        method, path.replace("{note}", victim.note_id), content=pieces() if chunked else content, headers=headers
    )

    assert ("content-length" in response.request.headers) is not chunked
    assert_refused(response, 413)
    assert response.json() == {"detail": "Request body is larger than 1 MiB"}
    assert snapshot(engine, http, victim) == before
    assert_healthy(http, victim)


# -- what is not an error ------------------------------------------------------


@pytest.mark.parametrize("path", ["/notes", "/notes/tags/study/notes"])
def test_the_last_page_allowed_is_past_the_end_not_an_error(http: TestClient, victim: Victim, path: str) -> None:
    response = http.get(path, params={"page": MAX_PAGE, "items_per_page": 100}, headers=victim.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"total_count": 1, "page": MAX_PAGE, "notes": []}


IMPOSSIBLE_TAGS = {"nul": "%00", "invalid-utf8": "%FF", "surrogate": "%ED%A0%80", "10k": "x" * 10_000, "tab": "%09"}


@pytest.mark.parametrize("segment", IMPOSSIBLE_TAGS.values(), ids=IMPOSSIBLE_TAGS.keys())
def test_a_tag_path_no_tag_can_have_is_an_empty_list_not_an_error(
    http: TestClient, engine: Engine, victim: Victim, segment: str
) -> None:
    """SPEC §4: an unknown tag gives total_count 0, also one that no tag could ever be named."""
    before = snapshot(engine, http, victim)

    response = http.get(f"/notes/tags/{segment}/notes", headers=victim.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"total_count": 0, "page": 1, "notes": []}
    assert snapshot(engine, http, victim) == before


@pytest.mark.parametrize("segment", ["a%2Fb", "a/b", "%2F", "a%2Fnotes", "a%0Ab", "%C2%A2e%C3%B6s%0A", "%0A", "%0D%0A"])
def test_a_slash_or_newline_in_a_tag_path_is_a_tag_no_note_has(http: TestClient, victim: Victim, segment: str) -> None:
    """Starlette matches the decoded path (``a%2Fb`` is ``a/b``, ``a%0Ab`` holds a newline); no tag has a ``/``
    or a control character (SPEC), so: no notes, not a 404 no route matched."""
    response = http.get(f"/notes/tags/{segment}/notes", headers=victim.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"total_count": 0, "page": 1, "notes": []}


def test_unknown_fields_are_ignored_never_obeyed(http: TestClient, engine: Engine, victim: Victim) -> None:
    other = new_victim(http)
    forged = {"id": "01J0ZZZZZZZZZZZZZZZZZZZZZZ", "user_id": other.id, "version": 99, "created_at": "2000-01-01"}

    created = http.post("/notes", json={**NOTE, **forged, "extra": {"deep": [1, 2]}}, headers=victim.headers)
    changed = http.put(
        f"/notes/{victim.note_id}", json={**forged, "role": "ADMIN"}, headers={**victim.headers, "If-Match": "*"}
    )
    renamed = http.put("/users", json={"role": "ADMIN", "id": other.id, "email": other.email}, headers=victim.headers)

    assert created.status_code == 201, created.text
    assert created.json()["id"] != forged["id"]
    assert (created.json()["user_id"], created.headers["etag"]) == (victim.id, '"1"')
    assert changed.status_code == 200, changed.text
    assert changed.json()["user_id"] == victim.id
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["id"], renamed.json()["email"], renamed.json()["role"]) == (victim.id, victim.email, "USER")
    assert http.delete(f"/notes/{created.json()['id']}", headers=victim.headers).status_code == 204


# -- through a real server, byte by byte ----------------------------------------


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET}
    with live_server(name="bad-input", command=main_py(), workdir=tmp_path_factory.mktemp("bad-input"), env=env) as up:
        yield up


@pytest.fixture(scope="module")
def live(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=RESPONSE_SECONDS) as client:
        yield client


@pytest.fixture(scope="module")
def live_victim(live: httpx.Client) -> Victim:
    return new_victim(live)


@dataclass
class Exchange:
    """What came back on one connection: each response's status, headers and body, and whether it closed."""

    responses: list[tuple[int, dict[str, str], bytes]]
    closed: bool
    seconds: float


def exchange(
    server: LiveServer, head: bytes, *, body: bytes = b"", then: list[bytes] | None = None, until_closed: bool = False
) -> Exchange:
    """Send ``head`` and ``body`` (and each of ``then``) on a fresh connection; read what comes back:
    the first complete response, or with ``until_closed`` everything until the server closes."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=RESPONSE_SECONDS) as connection:
        try:
            connection.sendall(head + body)
            for piece in then or []:
                connection.sendall(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server answered without reading it all: what it said is read below
        received, closed = b"", False
        while not closed and (until_closed or not parse(received)[0]):
            try:
                data = connection.recv(65536)
            except TimeoutError:
                raise AssertionError(f"nothing more within {RESPONSE_SECONDS}s: {received[:300]!r}") from None
            except ConnectionResetError:
                data = b""
            closed = not data
            received += data
    responses, _ = parse(received)
    return Exchange(responses=responses, closed=closed, seconds=time.monotonic() - started)


def parse(data: bytes) -> tuple[list[tuple[int, dict[str, str], bytes]], bytes]:
    """The complete responses (Content-Length framed, as uvicorn sends ours) at the start of ``data``."""
    responses = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            break
        responses.append((status, headers, rest[:length]))
        data = rest[length:]
    return responses, data


def request_head(method: str, path: str, victim: Victim, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {victim.headers['Authorization']}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_json_413(exchange_: Exchange) -> None:
    status, headers, content = exchange_.responses[0]
    assert (status, headers["content-type"]) == (413, "application/json"), exchange_.responses
    assert json.loads(content) == {"detail": "Request body is larger than 1 MiB"}


@pytest.fixture
def unchanged(engine: Engine, live: httpx.Client, live_victim: Victim) -> Iterator[None]:
    """The database exactly as before, and the server answering, after the test."""
    before = snapshot(engine, live, live_victim)
    yield
    assert snapshot(engine, live, live_victim) == before
    assert_healthy(live, live_victim)


@pytest.mark.usefixtures("unchanged")
def test_a_content_length_over_1_mib_is_413_before_the_body_arrives(server: LiveServer, live_victim: Victim) -> None:
    head = request_head("POST", "/notes", live_victim, content_type="application/json", content_length=str(2 * MIB))

    # Only a few bytes of the 2 MiB it announced: the answer must not wait for the rest.
    answered = exchange(server, head, body=b'{"title": ')

    assert_json_413(answered)
    assert answered.seconds < 5


@pytest.mark.usefixtures("unchanged")
def test_a_body_longer_than_its_content_length_is_cut_there(server: LiveServer, live_victim: Victim) -> None:
    """HTTP frames the body by its Content-Length: the server reads 100 bytes (not JSON: 422) and takes the
    2 MiB after them for the next request, which is no HTTP request at all: a head with no end past
    32 KiB (431, then close; middlewares/http_protocol.py), or bytes the parser refuses (a JSON 400)."""
    head = request_head("POST", "/notes", live_victim, content_type="application/json", content_length="100")

    # The first 100 bytes end inside the content: not a note, whatever the rest would have made of it.
    body = json.dumps(note_with(content="lied " * 200)).encode().ljust(2 * MIB)
    answered = exchange(server, head, body=body, until_closed=True)

    assert answered.closed
    assert answered.responses, answered
    for status, headers, content in answered.responses:
        if status in (400, 431):
            assert headers["content-type"] == "application/json"
            assert json.loads(content)["detail"] in ("Invalid HTTP request", "Request header fields too large")
        else:
            assert (status, headers["content-type"]) == (422, "application/json")
            assert json.loads(content)["detail"]


def chunked(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [
        b"%x\r\n%s\r\n" % (len(data[start : start + size]), data[start : start + size])
        for start in range(0, len(data), size)
    ]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("finished", [True, False], ids=["finished", "never-finished"])
def test_a_chunked_body_over_1_mib_is_413(server: LiveServer, live_victim: Victim, finished: bool) -> None:
    head = request_head("POST", "/notes", live_victim, content_type="application/json", transfer_encoding="chunked")
    pieces = chunked(big_note_body(MIB + 64 * 1024))

    answered = exchange(server, head, then=pieces + ([b"0\r\n\r\n"] if finished else []))

    assert_json_413(answered)


@pytest.mark.usefixtures("unchanged")
def test_a_body_that_never_comes_holds_only_its_own_connection(
    server: LiveServer, live: httpx.Client, live_victim: Victim
) -> None:
    head = request_head("POST", "/notes", live_victim, content_type="application/json", content_length="100")
    with socket.create_connection(("127.0.0.1", server.port), timeout=RESPONSE_SECONDS) as stalled:
        stalled.sendall(head + b'{"title": ')
        started = time.monotonic()
        assert live.get("/health").status_code == 200
        assert live.get(f"/notes/{live_victim.note_id}", headers=live_victim.headers).status_code == 200
        assert time.monotonic() - started < 2


NOT_HTTP = {
    "content-length-not-a-number": b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    "content-length-negative": b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
    "two-content-lengths": b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    "bad-chunk-size": b"POST /notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "raw-invalid-utf8-path": b"GET /notes/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw-nul-in-path": b"GET /notes/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "path-of-100k": b"GET /notes/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "not-http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n",
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("request_bytes", NOT_HTTP.values(), ids=NOT_HTTP.keys())
def test_bytes_that_are_not_http_get_a_json_400_and_a_closed_connection(
    server: LiveServer, request_bytes: bytes
) -> None:
    answered = exchange(server, request_bytes, until_closed=True)

    assert answered.closed
    # A request line alone over the 32 KiB head limit is 431 (middlewares/http_protocol.py).
    expected = (
        (431, b'{"detail":"Request header fields too large"}')
        if len(request_bytes) > 32 * 1024
        else (400, b'{"detail":"Invalid HTTP request"}')
    )
    assert [(status, content) for status, _, content in answered.responses] == [expected]


@pytest.mark.usefixtures("unchanged")
def test_long_paths_reach_the_app_and_are_answered_in_json(
    server: LiveServer, live: httpx.Client, live_victim: Victim
) -> None:
    note = live.get(f"/notes/{'a' * 10_000}", headers=live_victim.headers)
    by_tag = live.get(f"/notes/tags/{'가' * 3_000}/notes", headers=live_victim.headers)  # 27 000 bytes, escaped

    assert_refused(note, 404)
    assert by_tag.json() == {"total_count": 0, "page": 1, "notes": []}


def test_after_the_sweep_the_server_still_works(live: httpx.Client, live_victim: Victim) -> None:
    created = live.post("/notes", json=note_with(title="after the sweep"), headers=live_victim.headers)
    assert created.status_code == 201, created.text
    assert live.get(created.headers["location"], headers=live_victim.headers).json() == created.json()
    assert live.delete(created.headers["location"], headers=live_victim.headers).status_code == 204
    assert live.get("/health").json() == {"status": "ok", "database": "ok", "broker": "disabled"}
