"""Fixtures for every tier.

Database-backed tests run on SQLite always and on MariaDB when
``TEST_DATABASE_URL`` is set (``.ci/run`` sets it and ``TEST_REQUIRE_SERVICES=1``,
so there a missing server fails instead of skipping).
"""

import os
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import main
from database.engine import build_engine, build_session_factory
from main import create_app
from tests.support import log_audit
from tests.support.app import make_settings, migrate, service_missing

BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


# Every log line of the session is kept (tests/support/log_audit.py) and the tests
# marked ``log_audit`` run last, to scan them all for passwords and tokens.
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "log_audit: scans every log line of the session; runs after all other tests")
    log_audit.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    log_audit.uninstall()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("log_audit") is not None)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    log_audit.flush()


@pytest.fixture(scope="session", autouse=True)
def _startup_heap_left_to_the_collector() -> Iterator[None]:
    """The apps these tests start in this process do not freeze their heap (main._freeze_startup_heap).

    A served process freezes once what its start built, then serves; here the first app's start would
    freeze that test's objects for good and every later test would run beside them: the suite took a
    fifth longer. Processes the tests serve (tests/system) freeze as a user's do; one test here calls
    the real function.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main, "_freeze_startup_heap", lambda: None)
        yield


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'til.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        service_missing("TEST_DATABASE_URL is not set: MariaDB tests need a MySQL/MariaDB server")
    assert url is not None
    probe = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        service_missing(f"TEST_DATABASE_URL does not answer: {error.orig}")
    finally:
        probe.dispose()
    migrate(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database: SQLite, then MariaDB."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    """Engines a module opens on the databases it picks (``url -> engine``), disposed after the module."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return build_session_factory(engine)


@pytest.fixture(scope="session")
def app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # dependency-injector wires the routes to the container built last (another
    # backend's app, or an app with other settings): take the wiring back.
    app.state.container.wire()
    with TestClient(app) as test_client:
        yield test_client
