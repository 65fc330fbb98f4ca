"""Engine and session factory: the only place that tunes connections."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MYSQL_CONNECT_TIMEOUT_SECONDS = 5
SQLITE_BUSY_TIMEOUT_MS = 10_000


def build_engine(url: str, *, pool_size: int = 20, max_overflow: int = 20) -> Engine:
    """An engine with pre-ping, so a restarted database is survived.

    SQLite: foreign keys on (for ``ON DELETE CASCADE``), WAL, and every
    transaction started with ``BEGIN IMMEDIATE`` so that concurrent writers
    queue on the busy timeout instead of failing with "database is locked".
    MySQL/MariaDB: ``utf8mb4`` whatever the URL says, and a short connect
    timeout so an unreachable server answers 503 quickly.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        connect_args = {"charset": "utf8mb4", "connect_timeout": MYSQL_CONNECT_TIMEOUT_SECONDS}
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite file, so the default works on a fresh clone."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str) -> Engine:
    ensure_sqlite_directory(url)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

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
