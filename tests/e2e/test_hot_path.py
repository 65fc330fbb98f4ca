"""What one request costs on the hot path, counted, so that it cannot creep back (docs/benchmarks.md).

For each request the tests count the hand-offs to a worker thread (anyio's
``to_thread.run_sync``, what FastAPI runs a sync dependency or route with),
the pool checkouts, the statements, and on MariaDB every round trip to the
server (each command the driver sends: a statement, a ping, a ROLLBACK, a
COMMIT). On MariaDB the note routes run on the event loop over asyncmy
(``@on_event_loop``, web/routing.py), so there a read makes no hop at all;
on SQLite they run in a worker thread. Only the worker threads and the
loop's greenlets are counted, where the request reaches the database: the
app's email relay and digest threads are left out.
"""

import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import pymysql.connections
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects.mysql.asyncmy import AsyncAdapt_asyncmy_connection
from sqlalchemy.util.concurrency import in_greenlet

import main
from tests.support.app import app_client, new_user
from tests.support.notes import create_note

# The app's periodic threads (email relay, digest) stay out of the way: one pass at start, then none
# for an hour (and the counters skip their threads anyway).
QUIET = {"email_relay_interval_seconds": 3600, "digest_interval_seconds": 3600}
# Taken at collection, before tests/conftest.py replaces it for the session.
FREEZE_STARTUP_HEAP = main._freeze_startup_heap


@dataclass
class Cost:
    hops: int = 0
    checkouts: int = 0
    statements: int = 0
    round_trips: int = 0  # MariaDB only: 0 on SQLite, which has no server


class Meter:
    """Counts what the request's threads and greenlets do, on the app's engines and on the drivers'
    connections (PyMySQL's, and asyncmy's through SQLAlchemy's adapter)."""

    def __init__(self, app: FastAPI) -> None:
        container = app.state.container
        loop_engine = container.loop_engine()
        self.engines = [container.engine()] + ([] if loop_engine is None else [loop_engine.sync_engine])
        self.counts: Counter[str] = Counter()
        self.on = False

    def _ours(self) -> bool:
        # The database is reached only from the worker threads that run sync dependencies and routes,
        # and from the greenlets the loop runs @on_event_loop routes in.
        return self.on and (in_greenlet() or threading.current_thread().name.startswith("AnyIO worker thread"))

    def _counter(self, name: str) -> Callable[..., None]:
        def count(*_: Any) -> None:
            if self._ours():
                self.counts[name] += 1

        return count

    @contextmanager
    def installed(self, monkeypatch: pytest.MonkeyPatch) -> Iterator["Meter"]:
        run_sync = anyio.to_thread.run_sync
        execute_command = pymysql.connections.Connection._execute_command
        count_round_trip, on_checkout, on_statement = map(self._counter, ["round_trips", "checkouts", "statements"])

        async def counting_run_sync(*args: Any, **kwargs: Any) -> Any:
            if self.on:  # on the event loop: not a worker thread yet
                self.counts["hops"] += 1
            return await run_sync(*args, **kwargs)

        def counting_execute_command(connection: Any, command: int, sql: Any) -> Any:
            count_round_trip()
            return execute_command(connection, command, sql)

        monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
        monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", counting_execute_command)
        # asyncmy's commands, one each: a statement (or a batch), ROLLBACK, COMMIT, a ping.
        for owner, method in [
            (AsyncAdapt_dbapi_cursor, "_execute_async"),
            (AsyncAdapt_dbapi_cursor, "_executemany_async"),
            (AsyncAdapt_dbapi_connection, "rollback"),
            (AsyncAdapt_dbapi_connection, "commit"),
            (AsyncAdapt_asyncmy_connection, "ping"),
        ]:
            monkeypatch.setattr(owner, method, self._counting(getattr(owner, method), count_round_trip))
        for engine in self.engines:
            event.listen(engine, "checkout", on_checkout)
            event.listen(engine, "before_cursor_execute", on_statement)
        try:
            yield self
        finally:
            for engine in self.engines:
                event.remove(engine, "checkout", on_checkout)
                event.remove(engine, "before_cursor_execute", on_statement)

    @staticmethod
    def _counting(method: Callable[..., Any], count: Callable[..., None]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            count()
            return method(*args, **kwargs)

        return counted

    def cost(self, client: TestClient, method: str, url: str, **kwargs: Any) -> Cost:
        self.counts.clear()
        self.on = True
        try:
            response = client.request(method, url, **kwargs)
        finally:
            self.on = False
        assert response.status_code < 300, response.text
        return Cost(**self.counts)


@pytest.fixture
def metered(database_url: str, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Meter]]:
    with app_client(database_url, restore=app, **QUIET) as client, Meter(client.app).installed(monkeypatch) as meter:  # type: ignore[arg-type]
        yield client, meter


@dataclass(frozen=True)
class Scenario:
    method: str
    path: str  # {note} is a note of the caller's, tagged "a" and "b"; another carries "c", "d" and "e"
    params: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    if_match: bool = False


NOTE = {"title": "t", "content": "c", "memo_date": "20261201"}
SCENARIOS = {
    "list_notes": Scenario("GET", "/notes"),
    "get_note": Scenario("GET", "/notes/{note}"),
    "notes_by_tag": Scenario("GET", "/notes/tags/a/notes"),
    "search_notes": Scenario("GET", "/notes", params={"q": "note"}),
    "create_note": Scenario("POST", "/notes", json={**NOTE, "tags": ["c", "d", "e"]}),
    "create_note_new_tags": Scenario("POST", "/notes", json={**NOTE, "tags": ["x", "y", "z"]}),
    "update_note": Scenario("PUT", "/notes/{note}", json={"tags": ["c", "d"]}, if_match=True),
    "update_note_new_tags": Scenario("PUT", "/notes/{note}", json={"tags": ["p", "q"]}, if_match=True),
    "me": Scenario("GET", "/users/me"),  # not @on_event_loop: a worker thread on either database
}  # fmt: skip
# On MariaDB the note routes run on the event loop with one connection and one transaction for the
# caller's lookup and the use case (database.engine.LoopRunner): the statements, plus one transaction
# end, the read's ROLLBACK or the write's COMMIT.
READ = Cost(hops=0, checkouts=1, statements=2, round_trips=3)
EXPECTED = {
    "list_notes": READ,
    "get_note": READ,
    "notes_by_tag": READ,
    "search_notes": READ,
    # The caller; the note; its tags, which the user has, locked with their ids; the links; the schedule.
    "create_note": Cost(hops=0, checkouts=1, statements=5, round_trips=6),
    # Tags new to the user: the locking read finds none of them, so their upsert and a read of their ids.
    "create_note_new_tags": Cost(hops=0, checkouts=1, statements=7, round_trips=8),
    # The caller; the note locked with its tags (their ids kept for the write); the UPDATE; the old and
    # new tags locked with their ids; the old links out, the new in; the unused tags removed.
    "update_note": Cost(hops=0, checkouts=1, statements=7, round_trips=8),
    "update_note_new_tags": Cost(hops=0, checkouts=1, statements=9, round_trips=10),
    # A worker thread, one unit of work: its statement and its ROLLBACK.
    "me": Cost(hops=1, checkouts=1, statements=1, round_trips=2),
}
# On SQLite every route runs in a worker thread (no loop engine) and each unit of work (the caller's
# lookup, then the use case's) checks out its own connection and starts with BEGIN IMMEDIATE, one
# statement more; no server, no round trip.
UNITS_OF_WORK = {name: 1 if name == "me" else 2 for name in SCENARIOS}


@pytest.mark.parametrize("name", SCENARIOS)
def test_what_a_request_costs(metered: tuple[TestClient, Meter], database_url: str, name: str) -> None:
    client, meter = metered
    _, headers = new_user(client)
    note = create_note(client, headers, tags=["a", "b"])
    create_note(client, headers, tags=["c", "d", "e"])
    for _ in range(3):  # the pool and the statement caches warm
        client.get("/notes", headers=headers)
    scenario = SCENARIOS[name]
    if scenario.if_match:
        headers = {**headers, "If-Match": client.get(f"/notes/{note['id']}", headers=headers).headers["ETag"]}

    cost = meter.cost(
        client,
        scenario.method,
        scenario.path.format(note=note["id"]),
        params=scenario.params,
        json=scenario.json,
        headers=headers,
    )

    expected = EXPECTED[name]
    if database_url.startswith("sqlite"):
        units = UNITS_OF_WORK[name]
        expected = Cost(hops=1, checkouts=units, statements=expected.statements + units, round_trips=0)
    assert cost == expected, f"{cost} != {expected}"


def test_a_started_service_leaves_its_startup_heap_out_of_the_garbage_collector_s_walks(
    database_url: str, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The objects built at start are frozen (main._freeze_startup_heap): a full collection under load
    walks only what was made since, a few milliseconds instead of a stop of the loop of about 80 ms."""
    # tests/conftest.py turns the freeze off for the apps this process starts; this one has it.
    monkeypatch.setattr(main, "_freeze_startup_heap", FREEZE_STARTUP_HEAP)
    assert gc.get_freeze_count() == 0
    try:
        with app_client(database_url, restore=app, **QUIET) as client:
            client.get("/health")
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # the modules, the app, its routes and schemas
            gc.collect()
            assert gc.get_freeze_count() == frozen  # a collection leaves them where they are
    finally:
        gc.unfreeze()
