"""``LoopRunner`` (database/engine.py): the units of work of one request run on the event loop share one
connection of the loop engine and one transaction; a commit ends it, an error rolls back what that unit
of work wrote, and what was only read is rolled back once, when the request ends."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session

from database.engine import LoopRunner, build_engine, build_loop_engine, build_session_factory
from database.unit_of_work import SqlAlchemyUnitOfWork


class ProbeUnitOfWork(SqlAlchemyUnitOfWork):
    def _bind(self, session: Session) -> None:
        pass

    def add(self, value: str) -> None:
        self.session.execute(text("INSERT INTO loop_runner_probe (value) VALUES (:value)"), {"value": value})

    def values(self) -> list[str]:
        return list(self.session.execute(text("SELECT value FROM loop_runner_probe ORDER BY value")).scalars())


class Boom(Exception):
    pass


def write_then_fail(sessions: Any) -> None:
    with ProbeUnitOfWork(sessions) as unit_of_work:
        unit_of_work.add("undone")
        raise Boom()


def test_one_request_one_connection_a_commit_kept_a_failed_write_undone(mariadb_url: str) -> None:
    engine = build_engine(mariadb_url)
    with engine.begin() as setup:
        setup.execute(text("DROP TABLE IF EXISTS loop_runner_probe"))
        setup.execute(text("CREATE TABLE loop_runner_probe (value VARCHAR(20) PRIMARY KEY) ENGINE=InnoDB"))
    checkouts: list[int] = []
    commands: list[str] = []

    def request() -> tuple[list[str], bool]:
        sessions = build_session_factory(engine)
        with ProbeUnitOfWork(sessions) as first:  # a write, committed
            first.add("kept")
            first.commit()
        with pytest.raises(Boom):
            write_then_fail(sessions)
        with ProbeUnitOfWork(sessions) as third:  # a read
            seen = third.values()
            connection: Connection = third.session.connection()
        return seen, connection.in_transaction()

    async def run() -> tuple[list[str], bool]:
        try:
            return await LoopRunner(loop_engine)(request)
        finally:
            await loop_engine.dispose()

    loop_engine = build_loop_engine(mariadb_url)
    assert loop_engine is not None
    event.listen(loop_engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
    event.listen(loop_engine.sync_engine, "commit", lambda *_: commands.append("COMMIT"))
    event.listen(loop_engine.sync_engine, "rollback", lambda *_: commands.append("ROLLBACK"))
    try:
        seen, still_open_after_the_read = asyncio.run(run())
        with engine.connect() as check:
            stored = list(check.execute(text("SELECT value FROM loop_runner_probe")).scalars())
    finally:
        with engine.begin() as teardown:
            teardown.execute(text("DROP TABLE IF EXISTS loop_runner_probe"))
        engine.dispose()

    assert seen == stored == ["kept"]
    assert len(checkouts) == 1  # three units of work, one connection
    assert still_open_after_the_read  # the read's transaction was left to the request's end...
    assert commands == ["COMMIT", "ROLLBACK", "ROLLBACK"]  # ...which rolled it back, once


def test_requests_beyond_its_concurrency_wait_their_turn_in_the_order_they_came(mariadb_url: str) -> None:
    """Six requests at once on a runner of two: never more than two at their statements, and each
    admitted in its arrival order (not interleaved with all the others, which made the tail)."""
    engine = build_engine(mariadb_url)
    sessions = build_session_factory(engine)
    running: list[int] = []
    started: list[int] = []
    most_at_once = 0

    def request(number: int) -> None:
        nonlocal most_at_once
        started.append(number)
        running.append(number)
        most_at_once = max(most_at_once, len(running))
        with ProbeUnitOfWork(sessions) as unit_of_work:
            unit_of_work.session.execute(text("SELECT SLEEP(0.05)"))  # waits on the loop, as a statement does
        running.remove(number)

    async def run() -> None:
        runner = LoopRunner(loop_engine, concurrency=2)
        try:
            await asyncio.gather(*(runner(request, number) for number in range(6)))
        finally:
            await loop_engine.dispose()

    loop_engine = build_loop_engine(mariadb_url)
    assert loop_engine is not None
    try:
        asyncio.run(run())
    finally:
        engine.dispose()

    assert most_at_once == 2
    assert started == [0, 1, 2, 3, 4, 5]
