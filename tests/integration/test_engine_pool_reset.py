"""The pool rolls back a connection that comes back with a transaction open, and only then
(database/engine.py): the unit of work has normally ended its own, and a second ROLLBACK is
one more round trip for every request."""

from collections.abc import Iterator

import pymysql.connections
import pytest
from sqlalchemy import Engine, text

from database.engine import build_engine, build_session_factory


@pytest.fixture
def own_engine(engine: Engine) -> Iterator[Engine]:
    """An engine of one pooled connection on the test database, so the next checkout is that connection."""
    single = build_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    with single.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS pool_reset_probe"))
        connection.execute(text("CREATE TABLE pool_reset_probe (id INTEGER PRIMARY KEY)"))
    yield single
    with single.begin() as connection:
        connection.execute(text("DROP TABLE pool_reset_probe"))
    single.dispose()


def test_a_connection_returned_mid_transaction_is_rolled_back(own_engine: Engine) -> None:
    raw = own_engine.raw_connection()  # the driver's connection, as code that forgot to end its transaction holds it
    cursor = raw.cursor()
    cursor.execute("BEGIN")  # SQLite's connections are in autocommit mode, SQLAlchemy begins for them
    cursor.execute("INSERT INTO pool_reset_probe (id) VALUES (1)")
    cursor.close()

    raw.close()  # back to the pool, the INSERT neither committed nor rolled back

    with own_engine.connect() as connection:  # the same connection: the pool has one
        assert connection.execute(text("SELECT COUNT(*) FROM pool_reset_probe")).scalar_one() == 0


@pytest.mark.mariadb
def test_a_unit_of_work_ends_its_transaction_with_one_rollback(
    mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session closing ends its transaction, then returns the connection: one ROLLBACK, not two."""
    engine = build_engine(mariadb_url, pool_size=1, max_overflow=0)
    sent: list[str] = []
    execute_command = pymysql.connections.Connection._execute_command

    def counting(connection: object, command: int, sql: object) -> object:
        sent.append(sql.decode() if isinstance(sql, bytes) else str(sql))
        return execute_command(connection, command, sql)

    try:
        with build_session_factory(engine)() as session:
            session.execute(text("SELECT 1"))  # the pool's connection is made here, before counting
        monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", counting)

        with build_session_factory(engine)() as session:
            session.execute(text("SELECT 2"))

        assert sent == ["SELECT 2", "ROLLBACK"]
    finally:
        engine.dispose()
