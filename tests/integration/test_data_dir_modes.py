"""What the service creates on disk is its owner's alone (issue 11, finding 11): DATA_DIR
0700, the SQLite file (it holds password hashes) and the generated JWT key 0600."""

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from config import JWT_SECRET_FILE, load_settings
from database.engine import build_engine
from main import upgrade_database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """The usual umask (022), which let the files be created readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_a_fresh_data_dir_its_database_and_its_key_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = load_settings(_env_file=None, data_dir=data_dir)  # no JWT_SECRET: a key is generated

    upgrade_database(settings.sqlalchemy_url)
    engine = build_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.execute(text("SELECT count(*) FROM users"))
    engine.dispose()

    assert mode(data_dir) == 0o700
    assert mode(data_dir / JWT_SECRET_FILE) == 0o600
    database_files = sorted(data_dir.glob("til.db*"))
    assert database_files, list(data_dir.iterdir())
    assert {path.name: mode(path) for path in database_files} == {path.name: 0o600 for path in database_files}
