"""``GET /metrics`` under ``uvicorn main:create_app --factory --workers 2``: the whole service.

Either worker answers any request and any scrape; every scrape must report
the requests both answered (observability/metrics.py). The run's directory
is under the server's own ``TMPDIR``, so the test can see which worker
counted what: prometheus-client's value files, one per worker process.
"""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app import TEST_JWT_SECRET, migrate
from tests.support.live_server import LiveServer, live_server, uvicorn_factory

HEALTH = {"method": "GET", "route": "/health", "status": "200"}
BATCH = 40


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir: Path = tmp_path_factory.mktemp("metrics-workers")
    database_url = f"sqlite:///{workdir / 'til.db'}"
    migrate(database_url)
    (workdir / "tmp").mkdir()
    with live_server(
        name="two-workers",
        command=uvicorn_factory("main:create_app", "--workers", "2"),
        workdir=workdir,
        env={"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET, "TMPDIR": str(workdir / "tmp")},
    ) as running:
        yield running


def scraped_health_count(server: LiveServer) -> float:
    """``http_requests_total`` of ``GET /health`` 200 in one scrape, on a new connection (either worker)."""
    response = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert [sample.value for sample in families["outbox_pending"].samples] == [0.0]  # one figure, not one per worker
    found = [s.value for s in families["http_requests"].samples if s.name.endswith("_total") and s.labels == HEALTH]
    assert len(found) == 1, found
    return found[0]


def health_counts_by_worker(server: LiveServer) -> dict[str, float]:
    """What each worker process wrote for ``GET /health`` 200 in its own value file."""
    runs = list((server.workdir / "tmp").glob("til-metrics-*/*"))
    assert len(runs) == 1, f"the workers should share one run directory of metrics, found {runs}"
    [run] = runs
    counts: dict[str, float] = {}
    for file in run.glob("counter_*.db"):
        pid = file.stem.removeprefix("counter_")
        for key, value, _timestamp, _offset in MmapedDict.read_all_values_from_file(str(file)):
            _metric, sample, labels, _help = json.loads(key)
            if sample == "http_requests_total" and labels == HEALTH:
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


def send_health_requests(server: LiveServer, count: int) -> None:
    def one(_: int) -> None:
        assert httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200  # a new connection each

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))


def test_every_scrape_counts_the_requests_of_both_workers(workers: LiveServer) -> None:
    before = scraped_health_count(workers)
    sent = 0
    # The kernel gives a shared socket's connections to whichever worker accepts first: send until both did.
    while len(health_counts_by_worker(workers)) < 2:
        assert sent < 50 * BATCH, f"one worker answered all {sent} requests: {health_counts_by_worker(workers)}"
        send_health_requests(workers, BATCH)
        sent += BATCH

    by_worker = health_counts_by_worker(workers)
    assert all(count > 0 for count in by_worker.values())
    assert len(by_worker) == 2
    assert workers.process.pid not in {int(pid) for pid in by_worker}  # the supervisor serves nothing
    # Every scrape, whichever worker answers it, is the sum; /metrics itself is not GET /health.
    totals = {scraped_health_count(workers) for _ in range(8)}
    assert totals == {before + sent}
    assert sum(by_worker.values()) == before + sent


def test_the_run_directory_is_new_with_every_run(workers: LiveServer, tmp_path: Path) -> None:
    """A directory left by a run whose supervisor is gone is removed when the next run starts."""
    base = next((workers.workdir / "tmp").glob("til-metrics-*"))
    stale = base / f"{2**22 + 1}-feedfacecafe"  # above Linux's pid_max default: no such process
    stale.mkdir()
    (stale / "counter_1.db").write_bytes(b"")
    database_url = f"sqlite:///{tmp_path / 'til.db'}"
    migrate(database_url)
    env = {"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET, "TMPDIR": str(workers.workdir / "tmp")}
    command = uvicorn_factory("main:create_app", "--workers", "2")

    with live_server(name="next-run", command=command, workdir=tmp_path, env=env) as next_run:
        runs = {path.name.partition("-")[0] for path in base.iterdir()}

    assert not stale.exists()
    assert {str(workers.process.pid), str(next_run.process.pid)} <= runs
