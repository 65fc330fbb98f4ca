"""The short form of the sustained load (tests/system/load/run.py runs the full one): 20 clients for 12 s
against ``python main.py`` and against two uvicorn workers, on MariaDB.

Zero 5xx (as answered, and in the server's activity log), no transport error,
no status an operation may not give, and a database that agrees with every
creation, ``If-Match`` write and deletion the clients were told about.
"""

from pathlib import Path

import pytest

from tests.system.load.driver import MODES, run_load

pytestmark = pytest.mark.mariadb

SHORT_SECONDS = 12.0
SHORT_CLIENTS = 20


@pytest.mark.parametrize("mode", MODES)
def test_short_sustained_load_has_no_5xx_and_no_lost_write(mariadb_url: str, tmp_path: Path, mode: str) -> None:
    result = run_load(
        mode=mode, database_url=mariadb_url, clients=SHORT_CLIENTS, duration=SHORT_SECONDS, workdir=tmp_path
    )

    assert result.failures() == [], result.summary()
    # It did run the mix: enough of every write for the checks to mean something.
    assert len(result.ledger.notes) >= 50, result.summary()
    assert result.ledger.successful_updates() >= 50, result.summary()
    assert sum(history.deleted_at is not None for history in result.ledger.notes.values()) >= 10, result.summary()
    assert result.stats.count("POST /users", 201) >= 5, result.summary()
