"""Schema fuzzing: Schemathesis 4 against ``python main.py``, on SQLite and MariaDB.

The server is a real process on the session's database. Before the run, three
real accounts sign up and log in: ``alice`` and ``bob`` (USERs, three notes
each, tagged, so note ids, tags and lists have something in them from the
first case on) and an ADMIN made by ``FIRST_ADMIN_*``. They reach Schemathesis
as a Web Fuzzing Commons auth file: an operation is called as ``alice`` and,
when it refuses her (403 on an admin route), as the next identity, so
``GET /users`` is fuzzed as the admin; ``alice`` and ``bob`` are *peers*,
whose objects must stay private to each other (``object_level_authorization``).

Every operation of ``/openapi.json`` is run through the four phases
(examples, coverage, fuzzing, stateful: links between operations are inferred
from ids in responses, so notes made by ``POST /notes`` are read, changed and
deleted, and deleted ones read again) with every check Schemathesis has
(all on by default) plus ``max_response_time`` at 5 s. One setting is not
Schemathesis's default: ``positive_data_acceptance`` also accepts 412, which
answers a well-formed ``If-Match`` naming another version of the note (the
note's state, not the request's validity, like the 404 and 409 it accepts).
And ``ensure_resource_availability`` is off for ``/notes/{note_id}/share``:
it reads a 404 under a path that a ``POST`` just created as a lost resource,
but a new note is not shared until ``PUT`` makes its link, and SPEC §13
answers 404 for a note that is not shared.

``DELETE /users``, ``POST /users/logout`` and ``POST /users/logout-all``
would end ``alice``'s token in the middle of the run, so the random run leaves
them out; a second run fuzzes ``DELETE /users`` alone as a sacrificial
account, ``carol``, after which the test checks that her account, notes, tags
and token are gone and her email is free again, and a third the two logouts
as ``dave``, whose token is 401 afterwards.

A personal access token is an identity of its own (SPEC §11): a run pinned
to ``erin``'s PAT fuzzes every operation (the account routes too, since a PAT
can end nothing there) and checks that the account routes answered it only
403, never 2xx, and that the others served it.

Two rules no schema can say are kept by the hooks of tests/system/schemathesis_hooks.py before a
generated case is sent: ``GET /notes`` refuses ``from`` after ``to`` (such a pair is put in order), and a
note holds at most 32 distinct tag names, a repeat counting once (a list of more keeps its first 32).

``FUZZ_MAX_EXAMPLES`` (default 20 per operation and phase) sets the depth,
``FUZZ_SEED`` replays a run (Schemathesis prints the seed it used), and
``FUZZ_ST_ARGS`` adds options to ``st run``. ``script/fuzz`` runs the deep form.
"""

import json
import os
import shlex
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from common.errors import InvalidInput
from note.domain.note import check_content, check_memo_date, check_title
from note.domain.search import check_search_text
from note.domain.tag import check_tag_name
from note.infra.db_models import NoteRow, TagRow
from note.interface.schemas import REAL_DATE_PATTERN, SEARCH_TEXT_PATTERN, TAG_NAME_PATTERN
from tests.support.app import TEST_JWT_SECRET, bearer, login, signup, unique_email
from tests.support.live_server import LiveServer, live_server, main_py
from user.domain.user import check_name, check_password
from web.schemas import CONTROL, not_blank_pattern

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
SEED = os.environ.get("FUZZ_SEED")
EXTRA_ARGS = shlex.split(os.environ.get("FUZZ_ST_ARGS", ""))
TIMEOUT_SECONDS = float(os.environ.get("FUZZ_TIMEOUT_SECONDS", 600 + 12 * MAX_EXAMPLES))
MAX_RESPONSE_SECONDS = 5
ROOT = Path(__file__).resolve().parents[2]
HOOKS = {"SCHEMATHESIS_HOOKS": "tests.system.schemathesis_hooks", "PYTHONPATH": str(ROOT)}

DELETE_ME = "DELETE /users"
LOGOUTS = {"POST /users/logout", "POST /users/logout-all"}
LOGOUT_OPERATION_IDS = ["users-logout", "users-logout_all"]
# SPEC §11: a personal access token gets 403 "This needs a login token" here.
LOGIN_TOKEN_ONLY = {
    "PUT /users",
    DELETE_ME,
    *LOGOUTS,
    "POST /users/me/tokens",
    "GET /users/me/tokens",
    "DELETE /users/me/tokens/{token_id}",
}
PHASES = {"examples", "coverage", "fuzzing", "stateful"}
# Every check Schemathesis 4.32 has (all on by default), and max_response_time; each must have run at least once.
CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
    "max_response_time",
}
# 400 answers a well-formed reset or verification token that is no live one (SPEC §10): the database's
# state, like 404; Schemathesis cannot guess a real token.
POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]
HTML_PAGES = {"/reset-password", "/verify-email"}
# The confirm routes: every schema-valid token is an unknown one (400), every invalid body is 422.
TOKEN_CONFIRMATIONS = ["POST /users/password-reset/confirm", "POST /users/email-verification/confirm"]


@dataclass(frozen=True)
class Identity:
    name: str
    id: str
    email: str
    password: str
    token: str
    personal_token: str = ""


@dataclass
class Run:
    """What one ``st run`` did, read from its NDJSON event stream."""

    returncode: int
    cases: int = 0
    cases_by_operation: Counter[str] = field(default_factory=Counter)
    phases: set[str] = field(default_factory=set)
    checks: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def admin_credentials() -> tuple[str, str]:
    return unique_email("fuzz-admin"), f"fuzz admin {uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, admin_credentials: tuple[str, str]
) -> Iterator[LiveServer]:
    email, password = admin_credentials
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "FIRST_ADMIN_EMAIL": email,
        "FIRST_ADMIN_PASSWORD": password,
        "LOG_LEVEL": "WARNING",
    }
    with live_server(
        name="fuzz", command=main_py(), workdir=tmp_path_factory.mktemp("fuzz-server"), env=env
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def new_identity(http: httpx.Client, name: str, *, notes: int = 0) -> Identity:
    """A signed-up, logged-in USER with a random password and ``notes`` tagged notes."""
    email, password = unique_email(f"fuzz-{name}"), f"fuzz {uuid.uuid4().hex}"
    user = signup(http, name=name, email=email, password=password)
    token = login(http, email, password)
    for number in range(notes):
        body = {"title": f"{name} 오늘 {number} 🎉", "content": "seed", "memo_date": "20261127", "tags": ["seed", name]}
        assert http.post("/notes", json=body, headers=bearer(token)).status_code == 201
    return Identity(name=name, id=user["id"], email=email, password=password, token=token)


def with_personal_token(http: httpx.Client, identity: Identity) -> Identity:
    """``identity`` with a personal access token of its own (made with its login token)."""
    response = http.post("/users/me/tokens", json={"name": "fuzz"}, headers=bearer(identity.token))
    assert response.status_code == 201, response.text
    return Identity(**{**identity.__dict__, "personal_token": response.json()["token"]})


def wfc_auth_file(path: Path, identities: list[tuple[str, str]]) -> Path:
    """A Web Fuzzing Commons auth document: one fixed ``Authorization`` header per identity."""
    entries = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for name, token in identities
    ]
    path.write_text(json.dumps({"auth": entries}))
    return path


def config_file(directory: Path, *, auth: Path, peers: tuple[str, ...] = (), user: str | None = None) -> Path:
    lines = ["[auth.wfc]", f"path = {json.dumps(str(auth))}"]
    if user:
        lines.append(f"user = {json.dumps(user)}")  # pinned: every operation as this identity
    if peers:
        lines.append(f"peers = {json.dumps(list(peers))}")
    lines += ["", "[checks.positive_data_acceptance]", f"expected-statuses = {json.dumps(POSITIVE_STATUSES)}"]
    # An operation block selects by any of its filters: the path alone, so that it holds for this path only.
    lines += [
        "",
        "[[operations]]",
        'include-path = "/notes/{note_id}/share"',
        "checks.ensure_resource_availability.enabled = false",
    ]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(server: LiveServer, *, directory: Path, config: Path, operations: list[str]) -> Run:
    """``st run`` with every check; its report goes to the test's output, its events are parsed."""
    events = directory / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{server.base_url}/openapi.json",
        *operations,
        # Every check is on by default (the test asserts each ran); not `--checks all`, which would
        # override the per-operation settings of the config file.
        "--max-response-time",
        str(MAX_RESPONSE_SECONDS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--continue-on-failure",
        "--generation-database",
        "none",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(events),
        *(["--seed", SEED] if SEED else []),
        *EXTRA_ARGS,
    ]
    env = {**os.environ, **HOOKS}
    completed = subprocess.run(command, cwd=directory, env=env, timeout=TIMEOUT_SECONDS, check=False)
    return read_events(completed.returncode, events)


def read_events(returncode: int, events: Path) -> Run:
    run = Run(returncode=returncode)
    for line in events.read_text().splitlines():
        event = json.loads(line)
        if "PhaseFinished" in event:
            finished = event["PhaseFinished"]
            if finished["phase"]["is_enabled"] and finished["status"] in ("success", "failure"):
                run.phases.add(finished["phase"]["name"])
        scenario = event.get("ScenarioFinished", {})
        recorder = scenario.get("recorder", {})
        for case_id, case in recorder.get("cases", {}).items():
            # A stateful scenario chains operations; elsewhere the scenario is one operation (probes with
            # other methods, for the 405 checks, included).
            value = case["value"]
            label = f"{value['method']} {value['path']}" if scenario["phase"] == "stateful" else recorder["label"]
            run.cases += 1
            run.cases_by_operation[label] += 1
            response = (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
            if value["method"] == label.split(" ")[0] and "status_code" in response:
                run.statuses[(label, response["status_code"])] += 1
        for checks in recorder.get("checks", {}).values():
            run.checks.update(check["name"] for check in checks)
    return run


def operations_of(http: httpx.Client) -> set[str]:
    spec = http.get("/openapi.json").json()
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}


def test_every_operation_passes_every_check(
    http: httpx.Client, server: LiveServer, admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    alice, bob = new_identity(http, "alice", notes=3), new_identity(http, "bob", notes=3)
    admin_token = login(http, *admin_credentials)
    auth = wfc_auth_file(tmp_path / "auth.json", [("alice", alice.token), ("bob", bob.token), ("admin", admin_token)])

    run = run_schemathesis(
        server,
        directory=tmp_path,
        config=config_file(tmp_path, auth=auth, peers=("alice", "bob")),
        operations=[
            # Hypothesis's "data generation is too slow" health check measures the generator on this
            # machine, not the API: on a loaded 2-core runner POST /notes's body (32 tags of patterned
            # text) trips it now and then. Every check of the API itself stays on.
            "--suppress-health-check=too_slow",
            *("--exclude-operation-id", "users-delete_me"),
            *(option for operation_id in LOGOUT_OPERATION_IDS for option in ("--exclude-operation-id", operation_id)),
        ],
    )

    assert run.returncode == 0, "Schemathesis found failures: its report is in the captured output above"
    assert set(run.cases_by_operation) == operations_of(http) - {DELETE_ME, *LOGOUTS}
    assert run.phases >= PHASES
    assert run.checks == CHECKS
    assert run.cases >= 10 * len(run.cases_by_operation)
    # The runs reach the success paths, not only the errors.
    for success in [("POST /notes", 201), ("GET /notes", 200), ("PUT /notes/{note_id}", 200), ("GET /users", 200)]:
        assert run.statuses[success], (success, run.statuses)
    for confirmation in TOKEN_CONFIRMATIONS:
        assert run.statuses[(confirmation, 400)], (confirmation, run.statuses)
        assert run.statuses[(confirmation, 422)], (confirmation, run.statuses)
    assert run.statuses[("POST /users/password-reset", 202)], run.statuses
    assert http.get("/health").status_code == 200
    me = http.get("/users/me", headers=bearer(alice.token))
    assert (me.status_code, me.json()["id"]) == (200, alice.id)


def test_delete_users_is_fuzzed_alone_as_a_sacrificial_account(
    http: httpx.Client, server: LiveServer, engine: Engine, admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    carol = new_identity(http, "carol", notes=2)
    auth = wfc_auth_file(tmp_path / "auth.json", [("carol", carol.token)])

    run = run_schemathesis(
        server,
        directory=tmp_path,
        config=config_file(tmp_path, auth=auth),
        operations=["--include-operation-id", "users-delete_me"],
    )

    assert run.returncode == 0, "Schemathesis found failures: its report is in the captured output above"
    assert set(run.cases_by_operation) == {DELETE_ME}
    assert run.checks >= {"not_a_server_error", "status_code_conformance", "ignored_auth", "max_response_time"}
    # Deleted once; from then on her token is a deleted user's: 401.
    assert run.statuses[(DELETE_ME, 204)] == 1, run.statuses
    assert set(run.statuses) <= {(DELETE_ME, 204), (DELETE_ME, 401)}, run.statuses
    assert http.get("/users/me", headers=bearer(carol.token)).status_code == 401
    assert http.post("/users/login", data={"username": carol.email, "password": carol.password}).status_code == 401
    admin = bearer(login(http, *admin_credentials))
    assert http.get(f"/users/{carol.id}", headers=admin).status_code == 404
    with engine.connect() as connection:
        for table in (NoteRow, TagRow):
            owned = select(func.count()).select_from(table).where(table.user_id == carol.id)
            assert connection.execute(owned).scalar_one() == 0, table
    again = http.post("/users", json={"name": "carol", "email": carol.email, "password": carol.password})
    assert again.status_code == 201, again.text


def test_the_logouts_are_fuzzed_alone_as_a_sacrificial_account(
    http: httpx.Client, server: LiveServer, tmp_path: Path
) -> None:
    dave = with_personal_token(http, new_identity(http, "dave", notes=1))
    auth = wfc_auth_file(tmp_path / "auth.json", [("dave", dave.token)])

    run = run_schemathesis(
        server,
        directory=tmp_path,
        config=config_file(tmp_path, auth=auth),
        operations=[
            option for operation_id in LOGOUT_OPERATION_IDS for option in ("--include-operation-id", operation_id)
        ],
    )

    assert run.returncode == 0, "Schemathesis found failures: its report is in the captured output above"
    assert set(run.cases_by_operation) == LOGOUTS
    # Ended once (by whichever ran first); from then on his login token is 401. His PAT is not a login token.
    assert sum(run.statuses[(operation, 204)] for operation in LOGOUTS) >= 1, run.statuses
    assert {status for _, status in run.statuses} <= {204, 401}, run.statuses
    assert http.get("/users/me", headers=bearer(dave.token)).status_code == 401
    assert http.get("/users/me", headers=bearer(dave.personal_token)).status_code == 200


def test_a_personal_access_token_is_fuzzed_on_every_operation_and_refused_only_on_account_routes(
    http: httpx.Client, server: LiveServer, tmp_path: Path
) -> None:
    erin = with_personal_token(http, new_identity(http, "erin", notes=3))
    auth = wfc_auth_file(tmp_path / "auth.json", [("erin-pat", erin.personal_token)])

    run = run_schemathesis(
        server,
        directory=tmp_path,
        config=config_file(tmp_path, auth=auth, user="erin-pat"),
        # What this run is about is who is let in. Whether data is generated fast enough, and whether every
        # schema-valid body is accepted, are the first run's concerns: Hypothesis's "too slow" health check and
        # positive_data_acceptance do not fail this one.
        operations=["--suppress-health-check=too_slow", "--exclude-checks", "positive_data_acceptance"],
    )

    assert run.returncode == 0, "Schemathesis found failures: its report is in the captured output above"
    assert set(run.cases_by_operation) == operations_of(http)
    for (operation, status), count in run.statuses.items():
        if operation in LOGIN_TOKEN_ONLY:
            # 403 for the PAT; 401 only where a case left the credentials out on purpose (ignored_auth); 422
            # only for a body that is not JSON at all, which FastAPI refuses before any token is looked at.
            assert status in (401, 403, 413, 422), (operation, status, count)
    for operation in LOGIN_TOKEN_ONLY:
        assert run.statuses[(operation, 403)], (operation, run.statuses)
    for success in [("POST /notes", 201), ("GET /notes", 200), ("GET /users/me", 200), ("GET /tags", 200)]:
        assert run.statuses[success], (success, run.statuses)
    # Nothing of erin's account changed or ended: her login token, her PAT and her name are as they were.
    me = http.get("/users/me", headers=bearer(erin.token))
    assert (me.status_code, me.json()["name"]) == (200, "erin")
    assert http.get("/users/me", headers=bearer(erin.personal_token)).status_code == 200
    tokens = http.get("/users/me/tokens", headers=bearer(erin.token)).json()["tokens"]
    assert [token["name"] for token in tokens] == ["fuzz"]


def test_every_error_an_operation_can_give_is_declared_with_the_detail_model(app: FastAPI) -> None:
    """413 everywhere (the body limit is the middleware's); 401 and 503 wherever a token is checked, 401 and
    429 with the headers that come with them; every error body ``{"detail"}`` (a 422's is FastAPI's list)."""
    spec = app.openapi()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            label, responses = f"{method.upper()} {path}", operation["responses"]
            assert "413" in responses, label
            if operation.get("security"):
                assert {"401", "503"} <= set(responses), label
            if "401" in responses:
                assert responses["401"]["headers"]["WWW-Authenticate"]["required"], label
            if "429" in responses:
                assert responses["429"]["headers"]["Retry-After"]["required"], label
            for code, response in responses.items():
                if list(response.get("content", {})) == ["text/html"]:
                    assert path in HTML_PAGES, (label, code)  # SPEC §10's pages answer a page, errors too
                    continue
                if code[0] in "45" and (path, code) != ("/health", "503"):
                    model = "HTTPValidationError" if code == "422" else "ErrorResponse"
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": f"#/components/schemas/{model}"}, (label, code)


# The patterns in the OpenAPI schema state the domain rules exactly; a rule stricter than its pattern would
# answer 422 to data Schemathesis generates as valid, and one looser would accept data it generates as invalid.


def _accepts(check: Any, value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True


def _matches(pattern: str) -> Any:
    """The pattern as a JSON Schema validator (and so Schemathesis, and clients) reads it."""
    return jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid


TRICKY = list(" \t\n\r\x00\x1f\x7f\x85\xa0\u1680\u2000\u2028\u3000\u200b\ufeff/a가😀")
TEXT = st.text(st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(TRICKY)), max_size=40)


@settings(max_examples=2000, deadline=None, database=None)
@given(TEXT)
def test_each_text_pattern_accepts_exactly_what_its_rule_accepts(text: str) -> None:
    not_blank_without_control = _matches(not_blank_pattern(forbidden=CONTROL))
    if 1 <= len(text) <= 64:
        assert _accepts(check_title, text) == not_blank_without_control(text)
    if 2 <= len(text) <= 32:
        assert _accepts(check_name, text) == not_blank_without_control(text)
    if 8 <= len(text) <= 64:
        assert _accepts(check_password, text) == _matches(r"^[^\x00]*$")(text)
    if text:
        assert _accepts(check_content, text) == _matches(not_blank_pattern(forbidden=r"\x00"))(text)
    assert _accepts(check_tag_name, text) == _matches(TAG_NAME_PATTERN)(text)
    if 1 <= len(text) <= 200:
        assert _accepts(check_search_text, text) == _matches(SEARCH_TEXT_PATTERN)(text)


SEARCH_PIECES = st.sampled_from(["a", "가", "😀", "%", " ", "\t", "\u3000", "\x1f", "\x85", "\xa0", "\u200b"])


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(SEARCH_PIECES, min_size=1, max_size=40).map("".join))
def test_the_search_pattern_counts_terms_as_the_rule_does(text: str) -> None:
    """Runs of whitespace around up to eleven terms: the 10-term bound is where the pattern and rule could part."""
    assert _accepts(check_search_text, text) == _matches(SEARCH_TEXT_PATTERN)(text)


LEAP_AND_EDGE_YEARS = [0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999]


@pytest.mark.parametrize("year", LEAP_AND_EDGE_YEARS)
def test_the_date_pattern_accepts_exactly_the_real_dates(year: int) -> None:
    matches = _matches(REAL_DATE_PATTERN)
    for month in range(14):
        for day in range(33):
            text = f"{year:04d}{month:02d}{day:02d}"
            assert _accepts(check_memo_date, text) == matches(text), text


@settings(max_examples=2000, deadline=None, database=None)
@given(st.from_regex(r"\A[0-9]{8}\Z") | st.text(max_size=10))
def test_the_date_pattern_accepts_exactly_what_the_rule_accepts(text: str) -> None:
    assert _accepts(check_memo_date, text) == _matches(REAL_DATE_PATTERN)(text)
