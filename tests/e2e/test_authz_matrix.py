"""The authorization matrix, on SQLite and MariaDB: every endpoint of SPEC §4
and §11 against every way of being the wrong caller, a personal access token
(PAT) among them.

Each cell is one request that would succeed for the right caller (a valid body,
an existing target, a matching ``If-Match``), so the only thing wrong with it is
who asks. A cell passes when the answer is the SPEC's status — 401 with
``WWW-Authenticate: Bearer`` for a token that is not a live one (logged out,
expired, deleted PATs included), 403 for a USER on an admin's route and for a
PAT on an account route, 404 for another user's note or token — as a ``{"detail"}`` JSON
body, and when the database is exactly as it was: row counts of users, notes,
tags, note_tags, login_throttles, outbox_emails, personal_tokens and
revoked_tokens, the newest ``updated_at``
of users and notes, and every row belonging to the matrix's accounts.

The controls make the cells able to fail: each endpoint, asked by the right
caller the same way, answers 2xx, and its writes show in the same snapshot;
and a PAT on every endpoint that is not an account route answers 2xx too.
"""

import base64
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from jose import jwt
from sqlalchemy import Engine, func, select, update
from sqlalchemy.sql import ColumnElement

from mail.infra.db_models import OutboxEmailRow
from note.infra.db_models import NoteRow, TagRow, note_tags
from tests.support.app import (
    PASSWORD,
    TEST_JWT_SECRET,
    bearer,
    bootstrap_admin,
    create_personal_token,
    login,
    new_user,
    signup,
    unique_email,
)
from tests.support.notes import create_note, note_body
from user.infra.db_models import LoginThrottleRow, PersonalTokenRow, RevokedTokenRow, UserRow

ABSENT_ID = "01J0ZZZZZZZZZZZZZZZZZZZZZZ"
WRONG_KEY = "another-secret-that-is-long-enough-for-hs256-0123456789"
NEW_PASSWORD = "a brand new password 42"


# -- who asks ---------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A signed-up account with one note carrying one tag, a login token and a personal access token for it."""

    id: str
    email: str
    token: str
    note_id: str
    tag: str
    personal_token: str = "-"
    personal_token_id: str = "-"


@dataclass
class World:
    victim: Account  # a USER; forged tokens are made from its token's claims
    other: Account  # another USER, whose note must stay out of reach
    admin: Account
    stale: Account  # changed its password after `token` was issued
    deleted: Account  # deleted its account after `token` was issued
    logged_out: Account  # logged `token` out
    logged_out_all: Account  # logged out everywhere after `token` was issued
    expired_pat: Account  # its personal token has expired
    deleted_pat: Account  # deleted its personal token
    tokens: dict[str, str] = field(default_factory=dict)  # forged tokens, by case

    def accounts(self) -> list[Account]:
        return [
            self.victim,
            self.other,
            self.admin,
            self.stale,
            self.deleted,
            self.logged_out,
            self.logged_out_all,
            self.expired_pat,
            self.deleted_pat,
        ]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


def tampered(token: str, claims: dict[str, Any]) -> str:
    """The token's own header and signature around another payload."""
    header, _, signature = token.split(".")
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def forged_tokens(victim: Account, other: Account) -> dict[str, str]:
    """Each changes one thing about the victim's real token (tampered: the subject becomes ``other``)."""
    token = victim.token
    claims = jwt.get_unverified_claims(token)
    now = int(time.time())
    return {
        "malformed": "not-a.jwt",
        "alg-none": unsigned(claims),
        "HS512-right-key": jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512"),
        "wrong-key": jwt.encode(claims, WRONG_KEY, algorithm="HS256"),
        "tampered-payload": tampered(token, {**claims, "sub": other.id}),
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, TEST_JWT_SECRET, algorithm="HS256"),
        "missing-exp": jwt.encode(
            {key: value for key, value in claims.items() if key != "exp"}, TEST_JWT_SECRET, algorithm="HS256"
        ),
    }


def make_account(client: TestClient, *, prefix: str) -> Account:
    _, headers = new_user(client, email=unique_email(f"matrix-{prefix}"))
    me = client.get("/users/me", headers=headers).json()
    tag = f"matrix-{prefix}"
    note = create_note(client, headers, tags=[tag])
    personal = create_personal_token(client, headers, name=f"matrix {prefix}")
    # Used once now: within the minute that follows, a use writes nothing (last_used_at is kept to the minute).
    assert client.get("/users/me", headers=bearer(personal["token"])).status_code == 200
    return Account(
        id=me["id"],
        email=me["email"],
        token=headers["Authorization"].removeprefix("Bearer "),
        note_id=note["id"],
        tag=tag,
        personal_token=personal["token"],
        personal_token_id=personal["id"],
    )


def expire_personal_token(engine: Engine, account: Account) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(PersonalTokenRow.__table__)
            .where(PersonalTokenRow.id == account.personal_token_id)
            .values(expires_at=PersonalTokenRow.created_at)
        )


@pytest.fixture(scope="module")
def world(database_url: str, app: FastAPI, engine: Engine) -> World:
    admin_json, admin_headers = bootstrap_admin(database_url, restore=app)
    app.state.container.wire()
    with TestClient(app) as client:
        victim = make_account(client, prefix="victim")
        other = make_account(client, prefix="other")
        admin_note = create_note(client, admin_headers, tags=["matrix-admin"])
        admin = Account(
            id=admin_json["id"],
            email=admin_json["email"],
            token=admin_headers["Authorization"].removeprefix("Bearer "),
            note_id=admin_note["id"],
            tag="matrix-admin",
            personal_token=create_personal_token(client, admin_headers, name="matrix admin")["token"],
        )
        stale = make_account(client, prefix="stale")
        changed = client.put(
            "/users", headers=bearer(stale.token), json={"password": NEW_PASSWORD, "current_password": PASSWORD}
        )
        assert changed.status_code == 200, changed.text
        deleted = make_account(client, prefix="deleted")
        assert client.delete("/users", headers=bearer(deleted.token)).status_code == 204
        logged_out = make_account(client, prefix="logged-out")
        assert client.post("/users/logout", headers=bearer(logged_out.token)).status_code == 204
        logged_out_all = make_account(client, prefix="logged-out-all")
        everywhere = bearer(login(client, logged_out_all.email))
        assert client.post("/users/logout-all", headers=everywhere).status_code == 204
        expired_pat = make_account(client, prefix="expired-pat")
        expire_personal_token(engine, expired_pat)
        deleted_pat = make_account(client, prefix="deleted-pat")
        gone = client.delete(f"/users/me/tokens/{deleted_pat.personal_token_id}", headers=bearer(deleted_pat.token))
        assert gone.status_code == 204
    matrix = World(
        victim=victim,
        other=other,
        admin=admin,
        stale=stale,
        deleted=deleted,
        logged_out=logged_out,
        logged_out_all=logged_out_all,
        expired_pat=expired_pat,
        deleted_pat=deleted_pat,
    )
    matrix.tokens = forged_tokens(victim, other)
    return matrix


# -- what the database holds --------------------------------------------------


COUNTED = {
    "users": UserRow.__table__,
    "notes": NoteRow.__table__,
    "tags": TagRow.__table__,
    "note_tags": note_tags,
    "login_throttles": LoginThrottleRow.__table__,
    "outbox_emails": OutboxEmailRow.__table__,
    "personal_tokens": PersonalTokenRow.__table__,
    "revoked_tokens": RevokedTokenRow.__table__,
}


def snapshot(engine: Engine, accounts: list[Account]) -> dict[str, Any]:
    """Counts of every table, the newest change of users and notes, and every row of ``accounts``."""
    ids = [account.id for account in accounts]
    emails = [account.email for account in accounts]
    own_notes = select(NoteRow.id).where(NoteRow.user_id.in_(ids))
    owned: dict[str, ColumnElement[bool]] = {
        "users": UserRow.id.in_(ids),
        "notes": NoteRow.user_id.in_(ids),
        "tags": TagRow.user_id.in_(ids),
        "note_tags": note_tags.c.note_id.in_(own_notes),
        "login_throttles": LoginThrottleRow.email_key.in_(emails),
        "outbox_emails": OutboxEmailRow.recipient.in_(emails),
        "personal_tokens": PersonalTokenRow.user_id.in_(ids),
        "revoked_tokens": RevokedTokenRow.user_id.in_(ids),
    }
    with engine.connect() as connection:
        state: dict[str, Any] = {
            f"count({name})": connection.scalar(select(func.count()).select_from(table))
            for name, table in COUNTED.items()
        }
        state["max(users.updated_at)"] = connection.scalar(select(func.max(UserRow.updated_at)))
        state["max(notes.updated_at)"] = connection.scalar(select(func.max(NoteRow.updated_at)))
        for name, table in COUNTED.items():
            state[f"rows({name})"] = sorted(map(tuple, connection.execute(select(table).where(owned[name]))))
    return state


# -- the endpoints ---------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # may name {user_id}, {note_id}, {tag}, {token_id} of the target account
    body: Callable[[], dict[str, Any]] | None = None
    if_match: bool = False  # '"1"': every note of the matrix is at version 1
    writes: bool = False

    def call(self, client: TestClient, *, target: Account, token: str | None) -> Response:
        headers = {} if token is None else bearer(token)
        if self.if_match:
            headers["If-Match"] = '"1"'
        path = self.path.format(
            user_id=target.id, note_id=target.note_id, tag=target.tag, token_id=target.personal_token_id
        )
        return client.request(self.method, path, headers=headers, json=self.body() if self.body else None)


ENDPOINTS = {
    "GET /users/me": Endpoint("GET", "/users/me"),
    "GET /users/{id}": Endpoint("GET", "/users/{user_id}"),
    "PUT /users": Endpoint("PUT", "/users", body=lambda: {"name": "Renamed"}, writes=True),
    "DELETE /users": Endpoint("DELETE", "/users", writes=True),
    "GET /users": Endpoint("GET", "/users"),
    "POST /notes": Endpoint("POST", "/notes", body=lambda: note_body(tags=["matrix-new"]), writes=True),
    "GET /notes": Endpoint("GET", "/notes"),
    "GET /notes/{id}": Endpoint("GET", "/notes/{note_id}"),
    "PUT /notes/{id}": Endpoint(
        "PUT", "/notes/{note_id}", body=lambda: {"title": "changed", "tags": ["changed"]}, if_match=True, writes=True
    ),
    "DELETE /notes/{id}": Endpoint("DELETE", "/notes/{note_id}", if_match=True, writes=True),
    "GET /notes/tags/{tag}/notes": Endpoint("GET", "/notes/tags/{tag}/notes"),
    "GET /tags": Endpoint("GET", "/tags"),
    "POST /users/logout": Endpoint("POST", "/users/logout", writes=True),
    "POST /users/logout-all": Endpoint("POST", "/users/logout-all", writes=True),
    "POST /users/me/tokens": Endpoint("POST", "/users/me/tokens", body=lambda: {"name": "matrix new"}, writes=True),
    "GET /users/me/tokens": Endpoint("GET", "/users/me/tokens"),
    "DELETE /users/me/tokens/{id}": Endpoint("DELETE", "/users/me/tokens/{token_id}", writes=True),
}
ADMIN_ONLY = {"GET /users"}
# SPEC §11: these answer a personal access token 403 "This needs a login token".
LOGIN_TOKEN_ONLY = {
    "PUT /users",
    "DELETE /users",
    "POST /users/logout",
    "POST /users/logout-all",
    "POST /users/me/tokens",
    "GET /users/me/tokens",
    "DELETE /users/me/tokens/{id}",
}

# Who asks, and about whose things: (token, target account) in a world.
Caller = Callable[[World], tuple[str | None, Account]]


def _forged(case: str, *, about: Callable[[World], Account]) -> Caller:
    return lambda w: (w.tokens[case], about(w))


def _victim(w: World) -> Account:
    return w.victim


NOT_A_LIVE_TOKEN: dict[str, Caller] = {
    "no-token": lambda w: (None, w.victim),
    "malformed": _forged("malformed", about=_victim),
    "alg-none": _forged("alg-none", about=_victim),
    "HS512-right-key": _forged("HS512-right-key", about=_victim),
    "wrong-key": _forged("wrong-key", about=_victim),
    # Accepted, it would speak for `other`: so it asks about other's things.
    "tampered-payload": _forged("tampered-payload", about=lambda w: w.other),
    "expired": _forged("expired", about=_victim),
    "missing-exp": _forged("missing-exp", about=_victim),
    "deleted-user": lambda w: (w.deleted.token, w.deleted),
    "pre-password-change": lambda w: (w.stale.token, w.stale),
    "logged-out": lambda w: (w.logged_out.token, w.logged_out),
    "pre-logout-all": lambda w: (w.logged_out_all.token, w.logged_out_all),
    "pat-of-deleted-user": lambda w: (w.deleted.personal_token, w.deleted),
    "expired-pat": lambda w: (w.expired_pat.personal_token, w.expired_pat),
    "deleted-pat": lambda w: (w.deleted_pat.personal_token, w.deleted_pat),
    "unknown-pat": lambda w: ("til_pat_" + "A" * 43, w.victim),
    "malformed-pat": lambda w: ("til_pat_" + w.victim.personal_token.removeprefix("til_pat_")[:-1], w.victim),
}
# Every endpoint takes every case: authentication comes before any role or ownership check.
TOKEN_CELLS = [
    pytest.param(endpoint, case, id=f"{case}:{endpoint}") for case in NOT_A_LIVE_TOKEN for endpoint in ENDPOINTS
]


# The right token, the wrong caller: (endpoint, who, whose target, SPEC status).
WRONG_CALLER: list[tuple[str, str, Callable[[World], tuple[str, Account]], int]] = [
    ("GET /users", "user-on-admin-route", lambda w: (w.victim.token, w.victim), 403),
    ("GET /users/{id}", "user-on-admin-route", lambda w: (w.victim.token, w.other), 403),
    ("GET /users/{id}", "user-on-admin-route-absent-id", lambda w: (w.victim.token, _absent(w.victim)), 403),
    ("GET /users/{id}", "admin-absent-id", lambda w: (w.admin.token, _absent(w.admin)), 404),
    ("GET /notes/{id}", "another-users-resource", lambda w: (w.victim.token, w.other), 404),
    ("PUT /notes/{id}", "another-users-resource", lambda w: (w.victim.token, w.other), 404),
    ("DELETE /notes/{id}", "another-users-resource", lambda w: (w.victim.token, w.other), 404),
    ("GET /notes/{id}", "admin-on-another-users-note", lambda w: (w.admin.token, w.other), 404),
    ("PUT /notes/{id}", "admin-on-another-users-note", lambda w: (w.admin.token, w.other), 404),
    ("DELETE /notes/{id}", "admin-on-another-users-note", lambda w: (w.admin.token, w.other), 404),
    ("DELETE /users/me/tokens/{id}", "another-users-resource", lambda w: (w.victim.token, w.other), 404),
    ("DELETE /users/me/tokens/{id}", "admin-on-another-users-token", lambda w: (w.admin.token, w.other), 404),
    *[
        (endpoint, "pat-on-account-route", lambda w: (w.victim.personal_token, w.victim), 403)
        for endpoint in LOGIN_TOKEN_ONLY
    ],
    ("GET /users", "user-pat-on-admin-route", lambda w: (w.victim.personal_token, w.victim), 403),
]


def _absent(account: Account) -> Account:
    return Account(
        id=ABSENT_ID,
        email=account.email,
        token=account.token,
        note_id=ABSENT_ID,
        tag=account.tag,
        personal_token_id=ABSENT_ID,
    )


def assert_error_json(response: Response, status: int) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert isinstance(response.json()["detail"], str), response.text


def assert_refused(
    client: TestClient, engine: Engine, world: World, *, endpoint: str, token: str | None, target: Account, status: int
) -> Response:
    before = snapshot(engine, world.accounts())
    response = ENDPOINTS[endpoint].call(client, target=target, token=token)
    after = snapshot(engine, world.accounts())

    assert not 200 <= response.status_code < 300, f"{response.status_code} {response.text}"
    assert response.status_code < 500, f"{response.status_code} {response.text}"
    assert_error_json(response, status)
    changed = {key for key in before if before[key] != after[key]}
    assert not changed, f"the database changed: {sorted(changed)}"
    return response


@pytest.mark.parametrize(("endpoint", "case"), TOKEN_CELLS)
def test_a_token_that_is_not_a_live_one_is_401_and_changes_nothing(
    client: TestClient, engine: Engine, world: World, endpoint: str, case: str
) -> None:
    token, target = NOT_A_LIVE_TOKEN[case](world)

    response = assert_refused(client, engine, world, endpoint=endpoint, token=token, target=target, status=401)

    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("endpoint", "wrong"),
    [
        pytest.param(endpoint, (caller, status), id=f"{who}:{endpoint}")
        for endpoint, who, caller, status in WRONG_CALLER
    ],
)
def test_a_live_token_of_the_wrong_caller_is_403_or_404_and_changes_nothing(
    client: TestClient, engine: Engine, world: World, endpoint: str, wrong: tuple[Caller, int]
) -> None:
    caller, status = wrong
    token, target = caller(world)
    if token.startswith("til_pat_"):
        # A use of a live personal token may write its last_used_at (once a minute): that is a use, not
        # the refused request's doing, so it happens here, before the snapshot.
        assert client.get("/users/me", headers=bearer(token)).status_code == 200

    assert_refused(client, engine, world, endpoint=endpoint, token=token, target=target, status=status)


# -- the controls: the same requests from the right caller succeed ------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_control_the_right_caller_gets_2xx_and_writes_show_in_the_snapshot(
    client: TestClient, engine: Engine, world: World, endpoint: str
) -> None:
    owner = make_account(client, prefix="control")
    token, target = (world.admin.token, world.admin) if endpoint in ADMIN_ONLY else (owner.token, owner)
    watched = [*world.accounts(), owner]
    before = snapshot(engine, watched)

    response = ENDPOINTS[endpoint].call(client, target=target, token=token)

    after = snapshot(engine, watched)

    assert 200 <= response.status_code < 300, f"{response.status_code} {response.text}"
    changed = {key for key in before if before[key] != after[key]}
    assert bool(changed) is ENDPOINTS[endpoint].writes, sorted(changed)


@pytest.mark.parametrize("endpoint", sorted(set(ENDPOINTS) - LOGIN_TOKEN_ONLY))
def test_control_a_personal_token_gets_2xx_wherever_a_login_token_does_but_on_account_routes(
    client: TestClient, engine: Engine, world: World, endpoint: str
) -> None:
    owner = make_account(client, prefix="pat-control")
    token, target = (
        (world.admin.personal_token, world.admin) if endpoint in ADMIN_ONLY else (owner.personal_token, owner)
    )
    assert client.get("/users/me", headers=bearer(token)).status_code == 200  # last_used_at: written now
    watched = [*world.accounts(), owner]
    before = snapshot(engine, watched)

    response = ENDPOINTS[endpoint].call(client, target=target, token=token)

    after = snapshot(engine, watched)
    assert 200 <= response.status_code < 300, f"{response.status_code} {response.text}"
    changed = {key for key in before if before[key] != after[key]}
    assert bool(changed) is ENDPOINTS[endpoint].writes, sorted(changed)


def test_control_forged_tokens_are_forged_from_sound_claims(client: TestClient, world: World) -> None:
    """The victim's claims, re-signed with the right key and algorithm, are accepted: the forgeries above differ
    from a live token only in what their case names."""
    claims = jwt.get_unverified_claims(world.victim.token)

    response = client.get("/users/me", headers=bearer(jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")))

    assert (response.status_code, response.json()["id"]) == (200, world.victim.id)


def test_control_the_tampered_token_names_another_live_account(client: TestClient, world: World) -> None:
    claims = jwt.get_unverified_claims(world.tokens["tampered-payload"])
    resigned = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    response = client.get("/users/me", headers=bearer(resigned))

    assert (response.status_code, response.json()["id"]) == (200, world.other.id)


# -- what stays public ------------------------------------------------------


PUBLIC = {
    "GET /health": ("/health", "application/json"),
    "GET /metrics": ("/metrics", "text/plain"),
    "GET /docs": ("/docs", "text/html"),
    "GET /redoc": ("/redoc", "text/html"),
    "GET /openapi.json": ("/openapi.json", "application/json"),
}


@pytest.mark.parametrize("case", NOT_A_LIVE_TOKEN)
@pytest.mark.parametrize("endpoint", PUBLIC)
def test_public_endpoints_answer_whatever_the_token(
    client: TestClient, engine: Engine, world: World, endpoint: str, case: str
) -> None:
    token, _ = NOT_A_LIVE_TOKEN[case](world)
    path, content_type = PUBLIC[endpoint]
    before = snapshot(engine, world.accounts())

    response = client.get(path, headers={} if token is None else bearer(token))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(content_type)
    assert "WWW-Authenticate" not in response.headers
    assert snapshot(engine, world.accounts()) == before


@pytest.mark.parametrize("case", NOT_A_LIVE_TOKEN)
def test_signup_and_login_ignore_a_bad_token(client: TestClient, engine: Engine, world: World, case: str) -> None:
    """POST /users and POST /users/login are for anyone: a bad token neither blocks them nor counts.
    A taken email is 409 and the right password logs in, both with nothing written."""
    token, _ = NOT_A_LIVE_TOKEN[case](world)
    headers = {} if token is None else bearer(token)
    before = snapshot(engine, world.accounts())

    taken = client.post(
        "/users", headers=headers, json={"name": "Copycat", "email": world.victim.email, "password": PASSWORD}
    )
    logged_in = client.post("/users/login", headers=headers, data={"username": world.other.email, "password": PASSWORD})

    assert_error_json(taken, 409)
    assert logged_in.status_code == 200, logged_in.text
    assert snapshot(engine, world.accounts()) == before


def test_lists_never_show_another_users_notes_or_tags(client: TestClient, world: World) -> None:
    """The listing routes take no id, so another user's things can only leak into them: they answer the
    caller's own (SPEC: an unknown tag is ``total_count`` 0), never the other's."""
    headers = bearer(world.victim.token)

    by_tag = client.get(f"/notes/tags/{world.other.tag}/notes", headers=headers)
    notes = client.get("/notes", headers=headers, params={"items_per_page": 100})
    tags = client.get("/tags", headers=headers)

    assert (by_tag.status_code, by_tag.json()["total_count"], by_tag.json()["notes"]) == (200, 0, [])
    assert [note["id"] for note in notes.json()["notes"]] == [world.victim.note_id]
    assert tags.json() == {"tags": [{"name": world.victim.tag, "note_count": 1}]}
    # And the owner does see them: the matrix's other user is real.
    own = client.get(f"/notes/tags/{world.other.tag}/notes", headers=bearer(world.other.token))
    assert [note["id"] for note in own.json()["notes"]] == [world.other.note_id]


def test_signup_leaves_a_welcome_email_in_the_snapshot(client: TestClient, engine: Engine, world: World) -> None:
    """The snapshot sees outbox and user rows too (a control for the public cells above)."""
    email = unique_email("matrix-snapshot")
    shadow = Account(id="-", email=email, token="-", note_id="-", tag="-")
    before = snapshot(engine, [*world.accounts(), shadow])

    signup(client, email=email)
    login(client, email)

    after = snapshot(engine, [*world.accounts(), shadow])
    changed = {key for key in before if before[key] != after[key]}
    assert {"count(users)", "count(outbox_emails)", "rows(outbox_emails)"} <= changed


def test_notes_written_while_their_owner_deletes_the_account_are_refused_never_a_500(
    client: TestClient, engine: Engine
) -> None:
    """Writes racing the owner's DELETE /users: 201 (in before it), 401 (the account was gone when the token
    was checked) or 409 (gone between the check and the write: try again, which answers 401) — never a 500 —
    and nothing of the account outlives it."""
    statuses: Counter[int] = Counter()
    for _ in range(6):
        user, headers = new_user(client)
        with ThreadPoolExecutor(max_workers=8) as pool:
            writes = [
                pool.submit(client.post, "/notes", headers=headers, json=note_body(tags=["race", f"r{n}"]))
                for n in range(12)
            ]
            deletion = pool.submit(client.delete, "/users", headers=headers)
            statuses.update(write.result().status_code for write in writes)
        assert deletion.result().status_code == 204
        with engine.connect() as connection:
            left = [
                connection.scalar(select(func.count()).select_from(table).where(table.c.user_id == user["id"]))
                for table in (NoteRow.__table__, TagRow.__table__)
            ]
        assert left == [0, 0]

    assert set(statuses) <= {201, 401, 409}, statuses
