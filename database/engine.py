"""Engines and the session factory: the only place that tunes connections.

Two engines on MariaDB/MySQL, one pool each, the same tuning: the threads'
(PyMySQL: the worker threads of the routes that hash passwords or handle
files, the email relay and digest threads, Celery, the commands, Alembic)
and the event loop's (asyncmy, through the sync facade of SQLAlchemy's
asyncio engine: the routes that do only database work, run in a greenlet on
the loop by ``web.routing``). A unit of work takes the engine of where it
runs (``build_session_factory``: the request's connection in a
``LoopRunner``'s greenlet), so the use cases and repositories are the
same code on both. SQLite has the threads' engine only (``aiosqlite`` would
be a thread a connection anyway).
"""

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pymysql.constants.SERVER_STATUS import SERVER_STATUS_IN_TRANS
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolResetState
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.concurrency import in_greenlet  # not re-exported by sqlalchemy.util

logger = logging.getLogger(__name__)

MYSQL_CONNECT_TIMEOUT_SECONDS = 5
# PyMySQL has no timeout of its own on the handshake and on reads: a server that
# accepts but never answers (frozen, blackholed) would hold a request forever.
# No query of this service legitimately stays silent for this long.
MYSQL_IO_TIMEOUT_SECONDS = 3
# A row lock waited for longer than this is a conflict (error 1205, run again by the
# unit of work's retry), well before the read timeout would call the server gone (a 503).
MYSQL_LOCK_WAIT_TIMEOUT_SECONDS = 2
# After the server could not be reached, new connections fail at once for this
# long, instead of each waiting out its own timeout while requests queue behind.
FAIL_FAST_SECONDS = 1.0
# The loop engine's transactions (see LoopRunner): each statement reads what was committed before it began.
# A request's one transaction starts with the caller's lookup, a plain read; under REPEATABLE READ (the
# server's default, which the threads' engine keeps) every later plain read would see the database as it
# was then, so a write that waited for another writer's lock would read that writer's note from before
# it (its old tags, its old share link) and undo part of its change. Set once a connection.
LOOP_ISOLATION_LEVEL = "READ COMMITTED"
# How many requests a process runs on the loop engine at once (LoopRunner); the others wait their turn in
# the order they came. Enough to keep two cores and the database busy, and well within the pool.
LOOP_CONCURRENCY = 8
SQLITE_BUSY_TIMEOUT_MS = 10_000
# What this service creates on disk (DATA_DIR, the SQLite file, the JWT key): the owner's alone.
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def build_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 20, fail_fast: "FailFast | None" = None
) -> Engine:
    """An engine that costs each request as few round trips as it can, and
    ``hide_parameters``: an error's message never carries a statement's
    values (a password hash, an email) into a log line.

    No pre-ping: a pooled connection is not pinged at every checkout (one
    round trip a unit of work). Connections are recycled after an hour,
    before MariaDB's ``wait_timeout`` (8 h) ends them; one the server has
    dropped anyway (a restart) fails its request with a 503, and the pool
    then discards every connection it opened before (SQLAlchemy invalidates
    the pool on a disconnect), so the next requests reconnect. A returned
    connection is rolled back only if a transaction is still open on it
    (``_roll_back_open_transaction``): the unit of work has already ended
    its own, and a second ROLLBACK would be one more round trip.

    SQLite: foreign keys on (for ``ON DELETE CASCADE``), WAL, and every
    transaction started with ``BEGIN IMMEDIATE`` so that concurrent writers
    queue on the busy timeout instead of failing with "database is locked".
    MySQL/MariaDB: ``utf8mb4`` whatever the URL says, short connect, read
    and write timeouts, a lock wait shorter than those, and a fail-fast window after the server could not
    be reached, so that an unreachable or hung server answers 503 within
    seconds however many requests are waiting. ``fail_fast``: that window,
    shared with the loop engine of the same server (``build_loop_engine``);
    by default one of its own.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    is_mysql = _is_mysql(url)
    engine = create_engine(
        url,
        connect_args=_mysql_connect_args("pymysql") if is_mysql else {},
        **_pool_options(pool_size=pool_size, max_overflow=max_overflow),
    )
    _tune(engine, fail_fast=(fail_fast or FailFast()) if is_mysql else None)
    return engine


def build_loop_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 20, fail_fast: "FailFast | None" = None
) -> AsyncEngine | None:
    """The event loop's engine on MariaDB/MySQL (``asyncmy``), tuned as ``build_engine``'s, in
    ``LOOP_ISOLATION_LEVEL``; ``None`` for SQLite. Its sync facade (``.sync_engine``) is what the units
    of work use, from a greenlet of the loop. Give it the threads' engine's ``fail_fast``: one server,
    one window, whichever pool found it gone (else a request on one pool fails fast while the other
    already serves again)."""
    if not _is_mysql(url):
        return None
    engine = create_async_engine(
        make_url(url).set(drivername="mysql+asyncmy"),
        connect_args=_mysql_connect_args("asyncmy"),
        isolation_level=LOOP_ISOLATION_LEVEL,
        **_pool_options(pool_size=pool_size, max_overflow=max_overflow),
    )
    _tune(engine.sync_engine, fail_fast=fail_fast or FailFast())
    return engine


def _is_mysql(url: str) -> bool:
    return make_url(url).get_backend_name() in ("mysql", "mariadb")


def _mysql_connect_args(driver: str) -> dict[str, Any]:
    """``utf8mb4`` whatever the URL says, and the timeouts; asyncmy has no write timeout of its own."""
    connect_args: dict[str, Any] = {
        "charset": "utf8mb4",
        "connect_timeout": MYSQL_CONNECT_TIMEOUT_SECONDS,
        "read_timeout": MYSQL_IO_TIMEOUT_SECONDS,
        "init_command": f"SET SESSION innodb_lock_wait_timeout = {MYSQL_LOCK_WAIT_TIMEOUT_SECONDS}",
    }
    if driver == "pymysql":
        connect_args["write_timeout"] = MYSQL_IO_TIMEOUT_SECONDS
    return connect_args


def _pool_options(*, pool_size: int, max_overflow: int) -> dict[str, Any]:
    return {
        "pool_recycle": 3600,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_reset_on_return": None,  # _roll_back_open_transaction does it, when there is something to roll back
        "hide_parameters": True,
    }


def _tune(engine: Engine, *, fail_fast: "FailFast | None") -> None:
    event.listen(engine, "reset", _roll_back_open_transaction)
    if fail_fast is not None:
        fail_fast.attach(engine)


def _roll_back_open_transaction(dbapi_connection: Any, _record: Any, reset_state: PoolResetState) -> None:
    """The pool's reset of a connection coming back: a ROLLBACK only if a transaction is open.

    The session has normally rolled back or committed already (SQLAlchemy
    then knows, except when a ``Session`` closes: it ends its transaction
    first, and the pool would roll back a second time). PyMySQL keeps the
    server's "in transaction" status flag of the last reply (asyncmy too, on the
    connection SQLAlchemy's adapter wraps), sqlite3 its own ``in_transaction``;
    any other driver is rolled back as before.
    """
    if reset_state.terminate_only or reset_state.transaction_was_reset:
        return
    driver_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    server_status = getattr(driver_connection, "server_status", None)
    if isinstance(server_status, int):
        if server_status & SERVER_STATUS_IN_TRANS:
            dbapi_connection.rollback()
        return
    if getattr(dbapi_connection, "in_transaction", True):
        dbapi_connection.rollback()


class FailFast:
    """Refuses new connections for a moment after one could not be made.

    A statement on a pooled connection, or a new connection's handshake, that
    finds the server gone or silent opens the window; while it is open a
    new connection fails at once (a 503 for its request) instead of waiting
    out its own timeout. The first attempt after the window tries for real.
    """

    def __init__(self, seconds: float = FAIL_FAST_SECONDS) -> None:
        self._seconds = seconds
        self._closed_until = 0.0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "do_connect", self._before_connect)

    def _on_error(self, context: ExceptionContext) -> None:
        if context.is_disconnect and not getattr(context.original_exception, "failing_fast", False):
            self._closed_until = time.monotonic() + self._seconds

    def _before_connect(self, dialect: Any, _record: Any, _args: Any, _kwargs: Any) -> None:
        if time.monotonic() < self._closed_until:
            error = dialect.loaded_dbapi.OperationalError(2003, "database unreachable a moment ago; failing fast")
            error.failing_fast = True
            raise error


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; in a ``LoopRunner``'s greenlet, on the request's one connection of the
    loop engine instead (every session of that request shares it and its transaction)."""
    return _Sessions(bind=engine, expire_on_commit=False, autoflush=False)


class _Sessions(sessionmaker[Session]):
    def __call__(self, **local_kw: Any) -> Session:
        request = _request_connection.get() if in_greenlet() else None
        if request is not None:
            connection = request.connection()
            if not connection.in_transaction():
                connection.begin()
            # The session joins the request's transaction: its close leaves it open for the next unit of
            # work, its rollback ends it; its commit does not, so the unit of work commits it too.
            local_kw.update(
                bind=connection, join_transaction_mode="rollback_only", info={REQUEST_CONNECTION: connection}
            )
        return super().__call__(**local_kw)


REQUEST_CONNECTION = "request_connection"
"""Key of ``Session.info``: the request's connection, whose transaction a unit of work commits itself."""


class _RequestConnection:
    """One connection of the loop engine for the units of work of one request, checked out when the
    first one opens, and returned (its transaction, if still open, rolled back) when the request ends."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


_request_connection: ContextVar[_RequestConnection | None] = ContextVar("request_connection", default=None)
T = TypeVar("T")


class LoopRunner:
    """``await runner(work, *args)``: sync ``work`` in a greenlet of the running event loop, where the
    sessions of ``build_session_factory`` use the loop engine's facade (``web.routing`` runs routes with it).

    Every unit of work of ``work`` (the caller's lookup, then the use case's) uses one connection and
    one transaction: one checkout and, for a request that only reads, one ROLLBACK at its end; a unit
    of work that commits ends it, and the next begins another. Sound here, and not on the threaded
    path: a route run on the loop never hashes a password or waits for anything but the database
    between its units of work, so the connection is never held idle, and it is never SQLite.

    At most ``concurrency`` works run at once; the next ones wait, first come first served. Without
    that limit every request in flight interleaves its statements with all the others', so under
    load a request's turn on the loop comes after every other request's at each of its statements,
    and the slowest wait longest: with 64 clients, ``get_note`` and ``list_notes`` had their 99th
    percentile at 250-770 ms without it and at 170-300 ms with it, at the same throughput
    (docs/benchmarks.md, "The tail").
    """

    def __init__(self, engine: AsyncEngine, *, concurrency: int = LOOP_CONCURRENCY) -> None:
        self._engine = engine.sync_engine
        self._turns = asyncio.Semaphore(concurrency)

    async def __call__(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with self._turns:
            return await greenlet_spawn(self._with_one_connection, work, args, kwargs)

    def _with_one_connection(self, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        request = _RequestConnection(self._engine)
        reset = _request_connection.set(request)
        try:
            return work(*args, **kwargs)
        finally:
            _request_connection.reset(reset)
            request.close()


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite file (0700) and the file (0600), so the default
    works on a fresh clone and the password hashes in it are the owner's alone.
    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _sqlite_engine(url: str) -> Engine:
    ensure_sqlite_directory(url)
    engine = create_engine(
        url,
        pool_reset_on_return=None,  # as build_engine's
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,
    )
    event.listen(engine, "reset", _roll_back_open_transaction)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below rule
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
