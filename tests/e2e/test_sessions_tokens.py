"""SPEC §11 over HTTP on SQLite and MariaDB: logout, logout-all, and personal
access tokens (create, list, delete, use, expire, refuse on account routes)."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import Engine, String, cast, func, select, update

from note.infra.db_models import NoteRow
from tests.support.app import (
    PASSWORD,
    ULID_PATTERN,
    assert_unauthenticated,
    assert_utc_timestamp,
    bearer,
    create_personal_token,
    login,
    new_user,
)
from tests.support.notes import create_note
from user.infra.db_models import PersonalTokenRow, RevokedTokenRow, UserRow

NEW_PASSWORD = "a brand new secret"
ABSENT_ID = "01J0ZZZZZZZZZZZZZZZZZZZZZZ"
LISTED_KEYS = {"id", "name", "created_at", "expires_at", "last_used_at"}
LOGIN_TOKEN_ONLY = [
    ("PUT", "/users", {"name": "Renamed"}),
    ("DELETE", "/users", None),
    ("POST", "/users/me/tokens", {"name": "another"}),
    ("GET", "/users/me/tokens", None),
    ("DELETE", "/users/me/tokens/{token_id}", None),
    ("POST", "/users/logout", None),
    ("POST", "/users/logout-all", None),
]


def token_row(engine: Engine, token_id: str) -> PersonalTokenRow | None:
    with engine.connect() as connection:
        return connection.execute(select(PersonalTokenRow.__table__).where(PersonalTokenRow.id == token_id)).first()


# POST /users/logout


def test_logout_ends_the_token_of_the_request_and_no_other(client: TestClient) -> None:
    user, first = new_user(client)
    second = bearer(login(client, user["email"]))

    response = client.post("/users/logout", headers=first)

    assert response.status_code == 204
    assert response.content == b""
    assert_unauthenticated(client.get("/users/me", headers=first))
    assert_unauthenticated(client.post("/users/logout", headers=first))
    assert client.get("/users/me", headers=second).json()["id"] == user["id"]


def test_a_logout_is_kept_only_until_the_token_would_have_expired(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)

    assert client.post("/users/logout", headers=headers).status_code == 204

    with engine.connect() as connection:
        row = connection.execute(select(RevokedTokenRow.__table__).order_by(RevokedTokenRow.expires_at.desc())).first()
    assert row is not None
    assert timedelta(minutes=59) < row.expires_at - datetime.now(UTC) <= timedelta(minutes=60)


def test_an_ended_token_is_401_even_when_the_request_is_invalid_too(client: TestClient) -> None:
    """The token's check runs in the route's thread, after FastAPI has read the parameters; its 401 still
    answers before their 422, as it would if it had run first."""
    _, headers = new_user(client)
    client.post("/users/logout", headers=headers)

    assert_unauthenticated(client.get("/notes", params={"page": 0, "sort": "nonsense"}, headers=headers))
    assert_unauthenticated(client.post("/notes", json={"title": ""}, headers=headers))
    assert_unauthenticated(client.put("/users", json={"name": "x"}, headers=headers))


def test_a_personal_token_on_an_account_route_is_403_even_with_an_invalid_body(client: TestClient) -> None:
    _, headers = new_user(client)
    token = bearer(create_personal_token(client, headers)["token"])

    response = client.post("/users/me/tokens", json={"name": ""}, headers=token)

    assert (response.status_code, response.json()) == (403, {"detail": "This needs a login token"})


def test_logout_needs_a_token(client: TestClient) -> None:
    assert_unauthenticated(client.post("/users/logout"))
    assert_unauthenticated(client.post("/users/logout-all"))


# POST /users/logout-all


def test_logout_all_ends_every_login_token_so_far_and_keeps_personal_tokens(client: TestClient) -> None:
    user, first = new_user(client)
    second = bearer(login(client, user["email"]))
    personal = bearer(create_personal_token(client, first)["token"])

    assert client.post("/users/logout-all", headers=second).status_code == 204

    assert_unauthenticated(client.get("/users/me", headers=first))
    assert_unauthenticated(client.get("/users/me", headers=second))
    assert client.get("/users/me", headers=personal).json()["id"] == user["id"]
    fresh = bearer(login(client, user["email"]))
    assert client.get("/users/me", headers=fresh).json()["id"] == user["id"]


def test_logout_all_leaves_other_accounts_alone(client: TestClient) -> None:
    _, mine = new_user(client)
    other, theirs = new_user(client)

    assert client.post("/users/logout-all", headers=mine).status_code == 204

    assert client.get("/users/me", headers=theirs).json()["id"] == other["id"]


# POST /users/me/tokens


def test_a_created_token_is_shown_once_with_its_record(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)

    response = client.post("/users/me/tokens", headers=headers, json={"name": "backup 🎉", "expires_in_days": 30})

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == LISTED_KEYS | {"token"}
    assert ULID_PATTERN.fullmatch(body["id"])
    assert response.headers["Location"] == f"/users/me/tokens/{body['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["token"].startswith("til_pat_")
    assert len(body["token"]) >= len("til_pat_") + 43
    assert body["name"] == "backup 🎉"
    created = assert_utc_timestamp(body["created_at"])
    assert assert_utc_timestamp(body["expires_at"]) - created == timedelta(days=30)
    assert body["last_used_at"] is None
    row = token_row(engine, body["id"])
    assert row is not None
    assert row.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    listed = client.get("/users/me/tokens", headers=headers).json()["tokens"]
    assert listed == [{key: body[key] for key in LISTED_KEYS}]


def test_a_token_without_expiry_never_expires(client: TestClient) -> None:
    _, headers = new_user(client)

    for body in ({"name": "forever"}, {"name": "forever", "expires_in_days": None}):
        response = client.post("/users/me/tokens", headers=headers, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["expires_at"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 65},
        {"name": "tab\there"},
        {"name": "ok", "expires_in_days": 0},
        {"name": "ok", "expires_in_days": 366},
        {"name": "ok", "expires_in_days": "soon"},
        {"name": "ok", "expires_in_days": True},
        {"name": "ok", "expires_in_days": "7"},
        {"name": "ok", "expires_in_days": 1.5},
        {"name": 7},
    ],
    ids=[
        "no-name",
        "empty",
        "blank",
        "too-long",
        "control",
        "zero-days",
        "366-days",
        "text-days",
        "boolean-days",
        "numeric-text-days",
        "fractional-days",
        "number-name",
    ],
)
def test_bad_token_input_is_422_and_creates_nothing(client: TestClient, body: dict) -> None:
    _, headers = new_user(client)

    response = client.post("/users/me/tokens", headers=headers, json=body)

    assert response.status_code == 422, response.text
    assert client.get("/users/me/tokens", headers=headers).json() == {"tokens": []}


def test_at_most_50_tokens_per_account(client: TestClient) -> None:
    _, headers = new_user(client)
    for number in range(50):
        create_personal_token(client, headers, name=f"token {number}")

    response = client.post("/users/me/tokens", headers=headers, json={"name": "one too many"})

    assert response.status_code == 409, response.text
    assert isinstance(response.json()["detail"], str)
    assert len(client.get("/users/me/tokens", headers=headers).json()["tokens"]) == 50
    _, other = new_user(client)
    assert client.post("/users/me/tokens", headers=other, json={"name": "theirs"}).status_code == 201


# GET /users/me/tokens


def test_tokens_are_listed_newest_first_and_only_the_callers(client: TestClient) -> None:
    _, headers = new_user(client)
    _, other = new_user(client)
    first = create_personal_token(client, headers, name="first")
    second = create_personal_token(client, headers, name="second")
    create_personal_token(client, other, name="theirs")

    response = client.get("/users/me/tokens", headers=headers)

    assert response.status_code == 200
    tokens = response.json()["tokens"]
    assert [t["id"] for t in tokens] == [second["id"], first["id"]]
    assert all(set(t) == LISTED_KEYS for t in tokens)
    assert first["token"] not in response.text
    assert second["token"] not in response.text


# DELETE /users/me/tokens/{id}


def test_a_deleted_token_stops_working_at_once(client: TestClient) -> None:
    _, headers = new_user(client)
    created = create_personal_token(client, headers)
    assert client.get("/notes", headers=bearer(created["token"])).status_code == 200

    response = client.delete(f"/users/me/tokens/{created['id']}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_unauthenticated(client.get("/notes", headers=bearer(created["token"])))
    assert client.get("/users/me/tokens", headers=headers).json() == {"tokens": []}
    assert client.delete(f"/users/me/tokens/{created['id']}", headers=headers).status_code == 404


def test_another_accounts_token_or_an_absent_one_is_404(client: TestClient) -> None:
    _, mine = new_user(client)
    _, theirs = new_user(client)
    their_token = create_personal_token(client, theirs)

    for token_id in (their_token["id"], ABSENT_ID, "not-an-id"):
        response = client.delete(f"/users/me/tokens/{token_id}", headers=mine)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Token not found"}
    assert client.get("/users/me", headers=bearer(their_token["token"])).status_code == 200


# Using a personal access token


def test_a_personal_token_works_like_a_login_token_on_the_other_routes(client: TestClient) -> None:
    user, headers = new_user(client)
    personal = bearer(create_personal_token(client, headers)["token"])

    assert client.get("/users/me", headers=personal).json()["id"] == user["id"]
    assert client.get(f"/users/{user['id']}", headers=personal).status_code == 200
    note = create_note(client, personal, tags=["pat"])
    assert client.get(f"/notes/{note['id']}", headers=personal).status_code == 200
    assert client.get("/notes/tags/pat/notes", headers=personal).json()["total_count"] == 1
    assert client.get("/tags", headers=personal).json() == {"tags": [{"name": "pat", "note_count": 1}]}
    assert client.put(f"/notes/{note['id']}", headers=personal, json={"title": "new"}).status_code == 200
    assert client.delete(f"/notes/{note['id']}", headers=personal).status_code == 204


@pytest.mark.parametrize(("method", "path", "body"), LOGIN_TOKEN_ONLY, ids=[f"{m} {p}" for m, p, _ in LOGIN_TOKEN_ONLY])
def test_a_personal_token_on_an_account_route_is_403_and_changes_nothing(
    client: TestClient, engine: Engine, method: str, path: str, body: dict | None
) -> None:
    _, headers = new_user(client)
    created = create_personal_token(client, headers)
    personal = bearer(created["token"])
    before = client.get("/users/me", headers=headers).json()

    response = client.request(method, path.format(token_id=created["id"]), headers=personal, json=body)

    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "This needs a login token"}
    assert client.get("/users/me", headers=headers).json() == before
    assert [t["id"] for t in client.get("/users/me/tokens", headers=headers).json()["tokens"]] == [created["id"]]
    row = token_row(engine, created["id"])
    assert row is not None
    assert row.last_used_at is None
    assert client.get("/users/me", headers=personal).status_code == 200


def test_a_bad_personal_token_on_an_account_route_is_401_not_403(client: TestClient) -> None:
    assert_unauthenticated(client.post("/users/logout", headers=bearer("til_pat_" + "A" * 43)))
    assert_unauthenticated(client.put("/users", headers=bearer("til_pat_nonsense"), json={"name": "Renamed"}))


def test_an_expired_personal_token_is_401(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)
    created = create_personal_token(client, headers, expires_in_days=1)
    assert client.get("/users/me", headers=bearer(created["token"])).status_code == 200
    with engine.begin() as connection:
        connection.execute(
            update(PersonalTokenRow.__table__)
            .where(PersonalTokenRow.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    assert_unauthenticated(client.get("/users/me", headers=bearer(created["token"])))
    assert_unauthenticated(client.get("/notes", headers=bearer(created["token"])))


@pytest.mark.parametrize(
    "token", ["til_pat_", "til_pat_" + "A" * 43, "til_pat_" + "A" * 500, "til_pat_" + "a" * 42 + "."]
)
def test_an_unknown_or_malformed_personal_token_is_401(client: TestClient, token: str) -> None:
    assert_unauthenticated(client.get("/users/me", headers=bearer(token)))


def test_last_used_at_is_written_once_a_minute_not_per_request(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)
    created = create_personal_token(client, headers)
    personal = bearer(created["token"])

    assert client.get("/users/me", headers=personal).status_code == 200
    first = token_row(engine, created["id"])
    for _ in range(3):
        assert client.get("/notes", headers=personal).status_code == 200
    again = token_row(engine, created["id"])

    assert first is not None
    assert again is not None
    assert first.last_used_at is not None
    assert again.last_used_at == first.last_used_at
    listed = client.get("/users/me/tokens", headers=headers).json()["tokens"][0]
    assert assert_utc_timestamp(listed["last_used_at"]) == first.last_used_at
    # A minute later the next use writes it again.
    with engine.begin() as connection:
        connection.execute(
            update(PersonalTokenRow.__table__)
            .where(PersonalTokenRow.id == created["id"])
            .values(last_used_at=first.last_used_at - timedelta(minutes=2))
        )
    assert client.get("/notes", headers=personal).status_code == 200
    later = token_row(engine, created["id"])
    assert later is not None
    assert later.last_used_at > first.last_used_at - timedelta(seconds=1)


def test_a_password_change_leaves_personal_tokens_working(client: TestClient) -> None:
    user, headers = new_user(client)
    personal = bearer(create_personal_token(client, headers)["token"])

    changed = client.put("/users", headers=headers, json={"password": NEW_PASSWORD, "current_password": PASSWORD})

    assert changed.status_code == 200, changed.text
    assert_unauthenticated(client.get("/users/me", headers=headers))
    assert client.get("/users/me", headers=personal).json()["id"] == user["id"]


def test_deleting_the_account_ends_its_personal_tokens_and_removes_their_rows(
    client: TestClient, engine: Engine
) -> None:
    user, headers = new_user(client)
    personal = bearer(create_personal_token(client, headers)["token"])
    create_personal_token(client, headers, name="second")
    other_login = bearer(login(client, user["email"]))
    assert client.post("/users/logout", headers=other_login).status_code == 204

    assert client.delete("/users", headers=headers).status_code == 204

    assert_unauthenticated(client.get("/users/me", headers=personal))
    with engine.connect() as connection:
        for table in (PersonalTokenRow, RevokedTokenRow):
            count = connection.scalar(select(func.count()).select_from(table).where(table.user_id == user["id"]))
            assert count == 0, table.__tablename__


def test_no_raw_token_is_stored_in_the_database(client: TestClient, engine: Engine) -> None:
    _, headers = new_user(client)
    login_token = headers["Authorization"].removeprefix("Bearer ")
    personal = create_personal_token(client, headers)["token"]
    create_note(client, bearer(personal))
    assert client.get("/users/me", headers=bearer(personal)).status_code == 200
    assert client.post("/users/logout", headers=headers).status_code == 204

    with engine.connect() as connection:
        for table in (UserRow, PersonalTokenRow, RevokedTokenRow, NoteRow):
            for column in table.__table__.c:
                for secret in (personal, personal.removeprefix("til_pat_"), login_token, login_token.split(".")[-1]):
                    found = connection.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(cast(column, String).contains(secret, autoescape=True))
                    )
                    assert found == 0, (table.__tablename__, column.name)


def test_the_prune_pass_forgets_revocations_of_expired_tokens_only(
    client: TestClient, engine: Engine, app: FastAPI
) -> None:
    _, expired = new_user(client)
    _, live = new_user(client)
    assert client.post("/users/logout", headers=expired).status_code == 204
    assert client.post("/users/logout", headers=live).status_code == 204
    jti = {
        name: jwt.get_unverified_claims(h["Authorization"].removeprefix("Bearer "))["jti"]
        for name, h in [("expired", expired), ("live", live)]
    }
    with engine.begin() as connection:
        connection.execute(
            update(RevokedTokenRow.__table__)
            .where(RevokedTokenRow.jti == jti["expired"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    pruned = app.state.container.access_service().prune_revoked_tokens()

    assert pruned >= 1
    with engine.connect() as connection:
        left = set(connection.scalars(select(RevokedTokenRow.jti).where(RevokedTokenRow.jti.in_(jti.values()))))
    assert left == {jti["live"]}
    assert_unauthenticated(client.get("/users/me", headers=live))
