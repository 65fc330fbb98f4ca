"""SPEC §13, sharing a note: the owner's routes and the anonymous link, on SQLite and MariaDB.

Expiry is tested with a fake clock given to the share service alone (login
tokens keep the real one), so no test sleeps.
"""

import hashlib
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from note.application.share_service import ShareService
from note.infra.db_models import NoteShareRow
from tests.fakes import FakeClock
from tests.support import log_audit
from tests.support.app import app_client, assert_unauthenticated, assert_utc_timestamp, new_user
from tests.support.notes import create_note

SHARE_KEYS = {"url", "token", "created_at", "expires_at"}
SHARED_KEYS = {"title", "content", "memo_date", "tags", "author", "updated_at"}
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,}")  # URL-safe base64 of at least 16 bytes
JSON_ACCEPT = {"Accept": "application/json"}
NOT_SHARED = {"detail": "This note is not shared"}
NOT_FOUND = {"detail": "Note not found"}
GONE = {"detail": "Shared note not found"}
SHARED_PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:",
    "x-robots-tag": "noindex",
    "referrer-policy": "no-referrer",
}
TIMING_TRIES = 40
TIMING_ROUNDS = 3
TIMING_TOLERANCE = 1.5


@pytest.fixture
def owner(client: TestClient) -> tuple[dict, dict[str, str]]:
    return new_user(client, name="김철수 Kim")


@pytest.fixture
def clock(app: FastAPI) -> Iterator[FakeClock]:
    """The share service's clock, starting now: ``clock.advance(days=...)`` ages every link."""
    container = app.state.container
    fake = FakeClock(datetime.now(UTC))
    container.share_service.override(providers.Factory(ShareService, uow=container.note_uow, clock=fake))
    try:
        yield fake
    finally:
        container.share_service.reset_override()


def share(client: TestClient, headers: dict[str, str], note_id: str, body: Any = None) -> dict[str, Any]:
    response = client.put(f"/notes/{note_id}/share", json=body, headers=headers)
    assert response.status_code == 200, response.text
    log_audit.remember_secret(response.json()["token"], what="a share token")
    return response.json()


def shared_json(client: TestClient, token: str) -> Any:
    return client.get(f"/shared/{token}", headers=JSON_ACCEPT)


def assert_gone(client: TestClient, token: str) -> None:
    """The one 404 of a link that does not work, whatever the client accepts."""
    for accept in ("application/json", "text/html", "*/*"):
        response = client.get(f"/shared/{token}", headers={"Accept": accept})
        assert (response.status_code, response.json()) == (404, GONE), accept
        assert response.headers["content-type"] == "application/json"


# PUT /notes/{id}/share


def test_sharing_answers_the_link_under_public_url(database_url: str, app: FastAPI) -> None:
    with app_client(database_url, restore=app, public_url="https://til.example.com/") as client:
        _, headers = new_user(client)
        note = create_note(client, headers)
        before = datetime.now(UTC)

        body = share(client, headers, note["id"], {"expires_in_days": 7})

    assert set(body) == SHARE_KEYS
    assert TOKEN.fullmatch(body["token"]), body["token"]
    assert body["url"] == f"https://til.example.com/shared/{body['token']}"
    created_at = assert_utc_timestamp(body["created_at"])
    assert before - timedelta(seconds=1) <= created_at <= datetime.now(UTC)
    assert assert_utc_timestamp(body["expires_at"]) == created_at + timedelta(days=7)


def test_public_url_defaults_to_host_and_port(database_url: str, app: FastAPI) -> None:
    with app_client(database_url, restore=app, host="127.0.0.1", port=18555) as client:
        _, headers = new_user(client)
        body = share(client, headers, create_note(client, headers)["id"])

    assert body["url"] == f"http://127.0.0.1:18555/shared/{body['token']}"


@pytest.mark.parametrize("body", [None, {}, {"expires_in_days": None}], ids=["no-body", "empty", "null"])
def test_a_link_without_expiry(client: TestClient, owner: tuple, body: Any) -> None:
    _, headers = owner
    link = share(client, headers, create_note(client, headers)["id"], body)

    assert link["expires_at"] is None
    assert shared_json(client, link["token"]).status_code == 200


def test_every_link_has_a_token_of_its_own(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    tokens = {share(client, headers, create_note(client, headers)["id"])["token"] for _ in range(5)}

    assert len(tokens) == 5


def test_a_new_link_replaces_the_earlier_one(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)
    first = share(client, headers, note["id"])

    second = share(client, headers, note["id"], {"expires_in_days": 30})

    assert second["token"] != first["token"]
    assert_gone(client, first["token"])
    assert shared_json(client, second["token"]).status_code == 200
    assert client.get(f"/notes/{note['id']}/share", headers=headers).json() == second


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_days": 0},
        {"expires_in_days": 366},
        {"expires_in_days": -1},
        {"expires_in_days": "7"},
        {"expires_in_days": 1.5},
        {"expires_in_days": True},
        [],
        "7",
    ],
    ids=["zero", "366", "negative", "string", "fraction", "boolean", "list", "not-an-object"],
)
def test_a_bad_expiry_is_422_and_changes_nothing(client: TestClient, owner: tuple, body: Any) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"])

    response = client.put(f"/notes/{note['id']}/share", json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert client.get(f"/notes/{note['id']}/share", headers=headers).json() == link
    assert shared_json(client, link["token"]).status_code == 200


def test_the_expiry_bounds_are_accepted(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    # 7.0 is an integer to JSON Schema (and so to the OpenAPI document's clients).
    for given, days in ((1, 1), (365, 365), (7.0, 7)):
        link = share(client, headers, create_note(client, headers)["id"], {"expires_in_days": given})
        delta = assert_utc_timestamp(link["expires_at"]) - assert_utc_timestamp(link["created_at"])
        assert delta == timedelta(days=days)


# GET and DELETE /notes/{id}/share


def test_the_owner_reads_the_link_again(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"], {"expires_in_days": 3})

    response = client.get(f"/notes/{note['id']}/share", headers=headers)

    assert (response.status_code, response.json()) == (200, link)


def test_a_note_never_shared_has_no_link(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)

    for method in ("GET", "DELETE"):
        response = client.request(method, f"/notes/{note['id']}/share", headers=headers)
        assert (response.status_code, response.json()) == (404, NOT_SHARED), method


def test_removing_the_link_stops_it(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"])

    response = client.delete(f"/notes/{note['id']}/share", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_gone(client, link["token"])
    assert client.get(f"/notes/{note['id']}/share", headers=headers).json() == NOT_SHARED
    assert client.delete(f"/notes/{note['id']}/share", headers=headers).json() == NOT_SHARED
    assert client.get(f"/notes/{note['id']}", headers=headers).status_code == 200


def test_an_expired_link_is_no_link(client: TestClient, owner: tuple, clock: FakeClock) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"], {"expires_in_days": 1})

    clock.advance(days=1, seconds=-1)
    assert shared_json(client, link["token"]).status_code == 200
    clock.advance(seconds=1)

    assert_gone(client, link["token"])
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/notes/{note['id']}/share", headers=headers)
        assert (response.status_code, response.json()) == (404, NOT_SHARED), method
    renewed = share(client, headers, note["id"])
    assert shared_json(client, renewed["token"]).status_code == 200


def test_another_users_note_is_404_on_every_owner_route(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"])
    _, intruder = new_user(client)

    for method in ("PUT", "GET", "DELETE"):
        response = client.request(method, f"/notes/{note['id']}/share", headers=intruder)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
        absent = client.request(method, "/notes/01J0000000000000000ABSENT00/share", headers=intruder)
        assert (absent.status_code, absent.json()) == (404, NOT_FOUND), method
    assert client.get(f"/notes/{note['id']}/share", headers=headers).json() == link
    assert shared_json(client, link["token"]).status_code == 200


def test_the_owner_routes_need_a_login(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers)

    for method in ("PUT", "GET", "DELETE"):
        assert_unauthenticated(client.request(method, f"/notes/{note['id']}/share"))
    assert client.get(f"/notes/{note['id']}/share", headers=headers).json() == NOT_SHARED


# GET /shared/{token}


def test_anyone_reads_the_shared_note_as_json(client: TestClient, owner: tuple) -> None:
    user, headers = owner
    note = create_note(
        client, headers, title="오늘 배운 것 🎉", content="**굵게** and emoji 😀", tags=["python", "한국어"]
    )
    link = share(client, headers, note["id"])

    response = shared_json(client, link["token"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == SHARED_KEYS
    assert body == {
        "title": "오늘 배운 것 🎉",
        "content": "**굵게** and emoji 😀",
        "memo_date": note["memo_date"],
        "tags": ["python", "한국어"],
        "author": user["name"],
        "updated_at": note["updated_at"],
    }
    assert_private_parts_absent(response.text, user=user, note=note)


def test_the_shared_note_is_the_note_as_it_is_now(client: TestClient, owner: tuple) -> None:
    _, headers = owner
    note = create_note(client, headers, tags=["old"])
    link = share(client, headers, note["id"])

    changed = client.put(
        f"/notes/{note['id']}", json={"title": "changed", "content": "new *words*", "tags": []}, headers=headers
    ).json()
    body = shared_json(client, link["token"]).json()
    page = client.get(f"/shared/{link['token']}").text

    assert (body["title"], body["content"], body["tags"]) == ("changed", "new *words*", [])
    assert body["updated_at"] == changed["updated_at"]
    assert "<em>words</em>" in page


def test_the_html_page_shows_the_note_and_hides_the_owner(client: TestClient, owner: tuple) -> None:
    user, headers = owner
    note = create_note(client, headers, title="Generators & <yield>", content="# Heading\n\nSome `code`.", tags=["py"])
    link = share(client, headers, note["id"])

    response = client.get(f"/shared/{link['token']}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>Generators &amp; &lt;yield&gt; · TIL Notes</title>" in page
    assert "<h1>Heading</h1>" in page
    assert "<code>code</code>" in page
    assert "<li>py</li>" in page
    assert user["name"] in page
    assert "<script" not in page.lower()
    assert_private_parts_absent(page, user=user, note=note)


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*", None])
def test_every_answer_of_a_link_carries_the_section_13_headers(
    client: TestClient, owner: tuple, accept: str | None
) -> None:
    _, headers = owner
    link = share(client, headers, create_note(client, headers)["id"])

    response = client.get(f"/shared/{link['token']}", headers={"Accept": accept} if accept else {})

    assert response.status_code == 200
    for name, value in SHARED_PAGE_HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["cache-control"] == "no-store"
    assert "Accept" in [name.strip() for name in response.headers["vary"].split(",")]


@pytest.mark.parametrize(
    ("accept", "json_wanted"),
    [
        ("application/json", True),
        ("application/json, text/html;q=0.9", True),
        ("text/html;q=0.5, application/json;q=0.6", True),
        ("application/*", True),
        ("application/json;q=0.5, */*;q=0.1", True),
        ("text/html", False),
        ("*/*", False),
        (None, False),
        ("application/json, text/html", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json;q=0", False),
        ("text/*, application/json;q=0.9", False),
        ("image/png", False),
    ],
)
def test_json_only_when_accept_ranks_it_above_html(
    client: TestClient, owner: tuple, accept: str | None, json_wanted: bool
) -> None:
    _, headers = owner
    link = share(client, headers, create_note(client, headers)["id"])

    response = client.get(f"/shared/{link['token']}", headers={"Accept": accept} if accept else {})

    assert response.status_code == 200
    expected = "application/json" if json_wanted else "text/html; charset=utf-8"
    assert response.headers["content-type"] == expected


def assert_private_parts_absent(text: str, *, user: dict, note: dict) -> None:
    for private in (user["email"], user["id"], note["id"], note["user_id"]):
        assert private not in text, private


# Every kind of "not there" is one 404


def test_a_deleted_note_takes_its_link_with_it(client: TestClient, owner: tuple, engine: Engine) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"])

    assert client.delete(f"/notes/{note['id']}", headers=headers).status_code == 204

    assert_gone(client, link["token"])
    assert share_rows(engine, note["id"]) == []


def test_a_deleted_account_takes_its_links_with_it(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)
    notes = [create_note(client, headers) for _ in range(2)]
    links = [share(client, headers, note["id"]) for note in notes]

    assert client.delete("/users", headers=headers).status_code == 204

    for note, link in zip(notes, links, strict=True):
        assert_gone(client, link["token"])
        assert share_rows(engine, note["id"]) == []


@pytest.mark.parametrize(
    "token",
    ["never-issued-token-0000000000000000000000", "x", "%2e%2e", "a" * 2000, "한국어", "%00"],
    ids=["well-formed", "short", "dots", "long", "korean", "nul"],
)
def test_an_unknown_token_is_the_same_404(client: TestClient, token: str) -> None:
    assert_gone(client, token)


def test_the_404s_take_about_the_same_time(client: TestClient, owner: tuple, clock: FakeClock) -> None:
    """Unknown, replaced, removed and expired links, and a deleted note's: the medians of 40 tries
    of each (interleaved, so load on the machine hits all alike) are within 50 % of each other."""
    _, headers = owner
    notes = [create_note(client, headers) for _ in range(4)]
    replaced = share(client, headers, notes[0]["id"])["token"]
    share(client, headers, notes[0]["id"])
    removed = share(client, headers, notes[1]["id"])["token"]
    client.delete(f"/notes/{notes[1]['id']}/share", headers=headers)
    deleted_note = share(client, headers, notes[2]["id"])["token"]
    client.delete(f"/notes/{notes[2]['id']}", headers=headers)
    expired = share(client, headers, notes[3]["id"], {"expires_in_days": 1})["token"]
    clock.advance(days=2)
    kinds = {
        "unknown": "never-issued-token-0000000000000000000000",
        "replaced": replaced,
        "removed": removed,
        "deleted note": deleted_note,
        "expired": expired,
    }
    for kind, token in kinds.items():  # warm up
        assert shared_json(client, token).status_code == 404, kind

    # A real difference shows in every round; a busy machine's noise does not: up to three rounds.
    rounds = [_median_404_times(client, kinds) for _ in range(TIMING_ROUNDS)]
    assert any(max(m.values()) <= TIMING_TOLERANCE * min(m.values()) for m in rounds), rounds


def _median_404_times(client: TestClient, kinds: dict[str, str]) -> dict[str, float]:
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    for number in range(TIMING_TRIES):
        order = list(kinds.items())
        for kind, token in order[number % len(order) :] + order[: number % len(order)]:
            started = time.perf_counter()
            assert shared_json(client, token).status_code == 404
            timings[kind].append(time.perf_counter() - started)
    return {kind: statistics.median(values) for kind, values in timings.items()}


# Secrets


def test_the_database_keeps_no_token_in_plain_form(client: TestClient, owner: tuple, engine: Engine) -> None:
    _, headers = owner
    note = create_note(client, headers)
    link = share(client, headers, note["id"])

    [row] = share_rows(engine, note["id"])

    assert row.token_hash == hashlib.sha256(link["token"].encode()).hexdigest()
    assert all(link["token"] not in str(value) for value in row)


def test_no_log_line_of_the_service_carries_a_share_token(client: TestClient, owner: tuple) -> None:
    """The activity log shows ``/shared/{token}`` for the path of a link. (tests/support/log_audit.py leaves
    out the lines of the test client's own ``httpx`` logger, which writes the URLs it requests.)"""
    _, headers = owner
    link = share(client, headers, create_note(client, headers)["id"])
    log_audit.flush()
    already = len(log_audit.lines())

    shared_json(client, link["token"])
    client.get(f"/shared/{link['token']}")
    assert_gone(client, link["token"] + "x")
    assert client.post(f"/shared/{link['token']}").status_code == 405

    log_audit.flush()
    service_lines = log_audit.lines()[already:]
    request_lines = [line for line in service_lines if '"event":"request"' in line]
    assert len(request_lines) == 6, service_lines
    assert all('"path":"/shared/{token}"' in line for line in request_lines), request_lines
    assert not [line for line in service_lines if link["token"] in line]


def share_rows(engine: Engine, note_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(NoteShareRow.__table__).where(NoteShareRow.note_id == note_id)))
