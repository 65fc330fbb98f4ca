"""A shared object of the container is built once, even when threads ask for it at the same moment.

At start, the request threads and the periodic ones (email relay, digest) may ask for the engine or
the email hand-off together; a plain ``providers.Singleton`` then built two of them (two engines,
two connection pools, one never disposed).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from containers import Container
from tests.support.app import make_settings

THREADS = 8


@pytest.mark.parametrize("name", ["engine", "session_factory", "email_handoff", "token_issuer"])
def test_threads_asking_at_once_get_one_object(tmp_path: Path, name: str) -> None:
    container = Container(settings=make_settings(f"sqlite:///{tmp_path / 'til.db'}"))
    start = threading.Barrier(THREADS)

    def ask() -> object:
        start.wait()
        return getattr(container, name)()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        built = list(pool.map(lambda _: ask(), range(THREADS)))

    assert len({id(thing) for thing in built}) == 1
    container.email_handoff().close()
    container.engine().dispose()
