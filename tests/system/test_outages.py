"""Database outages, against a real ``python main.py`` on MariaDB (RabbitMQ's: test_outages_broker.py).

MariaDB is taken away through a TCP proxy (``tests/support/net_proxy.py``), never
stopped, since other tests and people share it: ``down()`` refuses
connections and cuts the open ones (the server stopped), ``hang()`` accepts
and never answers (a frozen server, a network blackhole).

Every request that needs the database answers 503 ``{"detail"}`` JSON within
5 s — never a 500, never a hang — ``/health`` answers 503 with ``database:
"unavailable"``, the routes that need no database still answer, and when it
is back the same process serves again with nothing restarted.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from database.engine import build_engine
from note.infra.db_models import NoteRow
from tests.support import log_audit
from tests.support.app import PASSWORD, TEST_JWT_SECRET, bearer, make_settings, unique_email
from tests.support.email import (
    wait_until,
)
from tests.support.live_server import LiveServer, is_request_line, live_server, main_py
from tests.support.net_proxy import TcpProxy
from tests.support.notes import note_body

pytestmark = pytest.mark.mariadb

logger = logging.getLogger(__name__)

# SPEC: a dependency that is down is a 503 — and an answer, not a hang past this.
ANSWER_WITHIN_SECONDS = 5.0
# How long the service may take to serve again once the database is back.
RECOVERY_SECONDS = 10.0
CLIENT_TIMEOUT_SECONDS = 20.0  # longer than any bound above: a hang shows as a hang, not as a client error
DOWN_HEALTH = {"status": "unavailable", "database": "unavailable", "broker": "disabled"}


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    headers: dict[str, str]
    note_id: str
    tag: str


@pytest.fixture(scope="module")
def db_proxy(mariadb_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.for_url(mariadb_url, default_port=3306)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()


@pytest.fixture(scope="module")
def server(mariadb_url: str, db_proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"DATABASE_URL": db_proxy.url(mariadb_url), "JWT_SECRET": TEST_JWT_SECRET, "LOG_LEVEL": "INFO"}
    workdir = tmp_path_factory.mktemp("outage-main")
    with live_server(name="outage-main.py", command=main_py(), workdir=workdir, env=env) as running:
        yield running


@pytest.fixture
def http(server: LiveServer, db_proxy: TcpProxy) -> Iterator[httpx.Client]:
    """A client of the server; the database is reachable again after each test, whatever happened."""
    try:
        with httpx.Client(base_url=server.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as client:
            yield client
    finally:
        db_proxy.up()


@pytest.fixture(scope="module")
def db(mariadb_url: str) -> Iterator[Engine]:
    """Straight to MariaDB, not through the proxy: what the database really holds."""
    engine = build_engine(mariadb_url)
    yield engine
    engine.dispose()


def make_account(http: httpx.Client) -> Account:
    email = unique_email("outage")
    assert http.post("/users", json={"name": "Outage", "email": email, "password": PASSWORD}).status_code == 201
    response = http.post("/users/login", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    log_audit.remember_token(token)
    headers = bearer(token)
    me = http.get("/users/me", headers=headers).json()
    tag = f"outage-{me['id'][-6:]}"
    note = http.post("/notes", headers=headers, json=note_body(tags=[tag]))
    assert note.status_code == 201, note.text
    return Account(id=me["id"], email=email, headers=headers, note_id=note.json()["id"], tag=tag)


# Every route of SPEC §4 that needs the database, asked by a valid caller: (name, request arguments).
def needs_database(account: Account) -> list[tuple[str, dict[str, Any]]]:
    auth = account.headers
    note = f"/notes/{account.note_id}"
    return [
        ("GET /health", {"method": "GET", "url": "/health"}),
        ("POST /users", {"method": "POST", "url": "/users", "json": _new_signup()}),
        (
            "POST /users/login",
            {"method": "POST", "url": "/users/login", "data": {"username": account.email, "password": PASSWORD}},
        ),
        ("GET /users/me", {"method": "GET", "url": "/users/me", "headers": auth}),
        ("GET /users/{id}", {"method": "GET", "url": f"/users/{account.id}", "headers": auth}),
        ("PUT /users", {"method": "PUT", "url": "/users", "headers": auth, "json": {"name": "Renamed"}}),
        ("DELETE /users", {"method": "DELETE", "url": "/users", "headers": auth}),
        ("GET /users", {"method": "GET", "url": "/users", "headers": auth}),
        ("POST /notes", {"method": "POST", "url": "/notes", "headers": auth, "json": note_body()}),
        ("GET /notes", {"method": "GET", "url": "/notes", "headers": auth}),
        ("GET /notes/{id}", {"method": "GET", "url": note, "headers": auth}),
        ("PUT /notes/{id}", {"method": "PUT", "url": note, "headers": auth, "json": {"title": "changed"}}),
        ("DELETE /notes/{id}", {"method": "DELETE", "url": note, "headers": auth}),
        ("GET /notes/tags/{tag}/notes", {"method": "GET", "url": f"/notes/tags/{account.tag}/notes", "headers": auth}),
        ("GET /tags", {"method": "GET", "url": "/tags", "headers": auth}),
    ]


def _new_signup() -> dict[str, str]:
    return {"name": "Newcomer", "email": unique_email("outage-new"), "password": PASSWORD}


@dataclass(frozen=True)
class Timed:
    name: str
    status: int | str  # a status code, or the transport error's name
    seconds: float
    body: Any


def timed(http: httpx.Client, name: str, request: dict[str, Any]) -> Timed:
    started = time.perf_counter()
    try:
        response = http.request(**request)
    except httpx.TransportError as error:
        return Timed(name, type(error).__name__, time.perf_counter() - started, None)
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    return Timed(name, response.status_code, time.perf_counter() - started, body)


def all_at_once(http: httpx.Client, requests: list[tuple[str, dict[str, Any]]]) -> list[Timed]:
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(lambda item: timed(http, *item), requests))


def assert_all_503_in_time(answers: list[Timed]) -> None:
    wrong = [a for a in answers if a.status != 503 or a.seconds >= ANSWER_WITHIN_SECONDS]
    assert not wrong, "\n".join(f"{a.name}: {a.status} after {a.seconds:.2f}s {a.body}" for a in wrong)
    for answer in answers:
        if answer.name == "GET /health":
            assert answer.body == DOWN_HEALTH
        else:
            assert answer.body == {"detail": "Database unavailable"}, (answer.name, answer.body)


def wait_for_recovery(http: httpx.Client) -> float:
    """Seconds until ``/health`` answers 200 again."""
    started = time.perf_counter()
    wait_until(
        lambda: http.get("/health").status_code == 200, timeout=RECOVERY_SECONDS, what="/health 200", interval=0.1
    )
    return time.perf_counter() - started


def assert_served_normally(http: httpx.Client, account: Account) -> None:
    """After the outage: the caller, its untouched note, and writes all work again."""
    me = http.get("/users/me", headers=account.headers)
    assert (me.status_code, me.json()["name"]) == (200, "Outage"), me.text
    note = http.get(f"/notes/{account.note_id}", headers=account.headers)
    assert (note.status_code, note.headers.get("ETag")) == (200, '"1"'), note.text
    assert http.post("/notes", headers=account.headers, json=note_body()).status_code == 201
    assert http.post("/users", json=_new_signup()).status_code == 201
    login = http.post("/users/login", data={"username": account.email, "password": PASSWORD})
    assert login.status_code == 200, login.text


def assert_no_server_error_logged(server: LiveServer) -> None:
    records = server.records()
    errors = [f"{r.get('exc_info', '')[-1500:]}" for r in records if r.get("event") == "unhandled error"]
    assert not errors, "\n\n".join(errors[:3])
    failed = [r for r in records if is_request_line(r) and r["status"] >= 500 and r["status"] != 503]
    assert not failed, failed[:5]


def test_database_down_answers_503_json_in_time_and_the_same_process_recovers(
    server: LiveServer, db_proxy: TcpProxy, http: httpx.Client
) -> None:
    account = make_account(http)
    pid = server.process.pid

    db_proxy.down()
    answers = all_at_once(http, needs_database(account))
    # What needs no database still answers.
    metrics = http.get("/metrics")
    docs = http.get("/docs")
    outage_health = http.get("/health")
    db_proxy.up()
    recovery = wait_for_recovery(http)

    assert_all_503_in_time(answers)
    assert (outage_health.status_code, outage_health.json()) == (503, DOWN_HEALTH)
    assert metrics.status_code == 200
    assert "outbox_pending NaN" in metrics.text
    assert docs.status_code == 200
    logger.info(
        "database down: slowest 503 %.3fs; recovery %.3fs after it came back",
        max(a.seconds for a in answers),
        recovery,
    )
    assert server.process.poll() is None
    assert server.process.pid == pid
    assert_served_normally(http, account)
    assert_no_server_error_logged(server)


def server_threads(mariadb_url: str) -> int:
    """How many requests the server works on at once: the threads of its sync routes (anyio's 40 by default)."""
    return getattr(make_settings(mariadb_url), "thread_pool_size", 40)


def in_waves(http: httpx.Client, requests: list[tuple[str, dict[str, Any]]], *, size: int) -> list[Timed]:
    """``requests`` ``size`` at a time: no more at once than the server has threads to work on them."""
    answers: list[Timed] = []
    for start in range(0, len(requests), size):
        answers += all_at_once(http, requests[start : start + size])
    return answers


def test_database_hanging_answers_503_within_5_seconds_and_recovers(
    server: LiveServer, db_proxy: TcpProxy, http: httpx.Client, mariadb_url: str
) -> None:
    """A database that accepts and never answers: every request that needs it gives up after the driver's read
    timeout (database/engine.py) — a pooled connection's ping, then the new connection's handshake — and
    answers 503 well within 5 s, as many at once as the server has threads."""
    threads = server_threads(mariadb_url)
    account = make_account(http)
    # Warm connections in the pool: they are the ones that hang first.
    all_at_once(http, [("GET /notes", {"method": "GET", "url": "/notes", "headers": account.headers})] * threads)

    db_proxy.hang()
    pooled = in_waves(http, needs_database(account), size=threads)
    fresh = in_waves(http, needs_database(account), size=threads)  # new connections: they hang in the handshake
    db_proxy.up()
    recovery = wait_for_recovery(http)

    assert_all_503_in_time(pooled)
    assert_all_503_in_time(fresh)
    logger.info(
        "database hanging: slowest 503 %.3fs (pooled connections), %.3fs (new ones), %d at once; recovery %.3fs",
        max(a.seconds for a in pooled),
        max(a.seconds for a in fresh),
        threads,
        recovery,
    )
    assert_served_normally(http, account)
    assert_no_server_error_logged(server)


def test_database_hanging_under_twice_as_many_requests_as_threads_still_answers_within_5_seconds(
    server: LiveServer, db_proxy: TcpProxy, http: httpx.Client, mariadb_url: str
) -> None:
    threads = server_threads(mariadb_url)
    account = make_account(http)
    all_at_once(http, [("GET /notes", {"method": "GET", "url": "/notes", "headers": account.headers})] * threads)
    requests = needs_database(account)
    overload = (requests * (2 * threads // len(requests) + 1))[: 2 * threads]

    db_proxy.hang()
    try:
        answers = all_at_once(http, overload)
    finally:
        db_proxy.up()
    wait_for_recovery(http)

    slowest = max(a.seconds for a in answers)
    logger.info("database hanging, %d requests at once: slowest 503 %.3fs", len(answers), slowest)
    assert {a.status for a in answers} == {503}, [(a.name, a.status) for a in answers if a.status != 503]
    # Without the fail-fast window (database/engine.py) the requests queued behind the hung ones took over 6 s.
    late = sum(a.seconds >= ANSWER_WITHIN_SECONDS for a in answers)
    assert late == 0, f"{late} answers took over {ANSWER_WITHIN_SECONDS} s"


def test_database_lost_in_the_middle_of_a_run_costs_503s_only_and_no_note_told_created(
    server: LiveServer, db_proxy: TcpProxy, http: httpx.Client, db: Engine
) -> None:
    """Eight clients write and read while the database goes away (connections cut under them) and comes
    back: every answer is 2xx or 503 and in time, and every note a client was told was created exists."""
    account = make_account(http)
    stop = threading.Event()
    answers: list[tuple[float, float, Timed]] = []  # (when it was sent, when it was answered, the answer)
    created: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def client(number: int) -> None:
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("POST /notes", lambda: {"method": "POST", "url": "/notes", "json": note_body(tags=["mid-run"])}),
            ("GET /notes", lambda: {"method": "GET", "url": "/notes"}),
            ("GET /users/me", lambda: {"method": "GET", "url": "/users/me"}),
            ("GET /notes/tags/mid-run/notes", lambda: {"method": "GET", "url": "/notes/tags/mid-run/notes"}),
        ]
        with httpx.Client(base_url=server.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as own:
            step = number
            while not stop.is_set():
                name, request = steps[step % len(steps)]
                step += 1
                sent = time.perf_counter() - started
                answer = timed(own, name, {**request(), "headers": account.headers})
                with lock:
                    answers.append((sent, time.perf_counter() - started, answer))
                    if name == "POST /notes" and answer.status == 201:
                        created.append(answer.body["id"])

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        db_proxy.down()
        went_down = time.perf_counter() - started
        time.sleep(2.5)
        came_back = time.perf_counter() - started
        db_proxy.up()
        wait_for_recovery(http)
        recovered = time.perf_counter() - started
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT_SECONDS + 5)

    statuses = {answer.status for _, _, answer in answers}
    assert statuses <= {200, 201, 503}, [a for _, _, a in answers if a.status not in (200, 201, 503)][:5]
    slowest = max(answer.seconds for _, _, answer in answers)
    assert slowest < ANSWER_WITHIN_SECONDS, slowest
    during = [a for sent, answered, a in answers if went_down < sent and answered < came_back]
    assert during, "no request was sent and answered while the database was away"
    assert {a.status for a in during} == {503}, "requests succeeded with the database gone?"
    after = [a for sent, _, a in answers if sent > recovered]
    assert after, "nothing was sent after the recovery"
    assert {a.status for a in after} <= {200, 201}, [a for a in after if a.status not in (200, 201)][:5]
    with db.connect() as connection:
        stored = set(connection.scalars(select(NoteRow.id).where(NoteRow.id.in_(created))))
    assert stored == set(created), f"{len(set(created) - stored)} notes told created are not in the database"
    logger.info(
        "mid-run: %d answers (%d 503s), %d notes created and all stored, slowest %.3fs",
        len(answers),
        sum(a.status == 503 for _, _, a in answers),
        len(created),
        slowest,
    )
    assert_no_server_error_logged(server)
