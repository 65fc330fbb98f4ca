"""Where Prometheus metrics live: in this process, or shared by a server's worker processes.

``uvicorn main:create_app --factory --workers N`` runs N processes; any of them
answers a request, and any of them a scrape. For ``GET /metrics`` to report
the whole service, every worker writes its metric values to files in one
directory, and a scrape sums them (prometheus-client's multiprocess mode).
The mode must be chosen before the first metric exists, so the modules that
define metrics (``middlewares/metrics.py``, ``mail/infra/metrics.py``) import
this one first. It chooses:

- ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, a process manager): that
  directory, as prometheus-client documents it; whoever starts the workers
  empties it first (``python main.py``, one process, does so itself).
- Unset, in a worker uvicorn's supervisor started: a directory of this run,
  ``<tmp>/til-metrics-<uid>/<supervisor pid>-<run key>``, shared by its
  workers (a restarted worker's predecessor still counts) and new with every
  run; the directories of runs whose supervisor is gone are removed.
- Unset, one process (``python main.py``, the tests): values stay in memory.

What a scrape computes from the database (``outbox_pending``) is not stored:
it is a *scrape-time collector*, run by the process that answers.
"""

import hashlib
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, values
from prometheus_client.registry import Collector

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_scrape_time: list[Collector] = []


def _run_directory() -> Path | None:
    """This run's shared directory when this process is one of a supervisor's workers, else None."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    # The workers of one supervisor share its pid and its authkey (random per process): a reused pid
    # gets a new directory.
    run_key = hashlib.sha256(bytes(multiprocessing.current_process().authkey)).hexdigest()[:12]
    base = Path(tempfile.gettempdir()) / f"til-metrics-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    for stale in base.iterdir():
        pid = stale.name.partition("-")[0]
        if pid.isdigit() and int(pid) != parent.pid and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    directory = base / f"{parent.pid}-{run_key}"
    directory.mkdir(exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists: another user's process
    return True


def _choose_storage() -> Path | None:
    if configured := os.environ.get(DIRECTORY_VARIABLE):
        directory: Path | None = Path(configured)
    else:
        directory = _run_directory()
        if directory is not None:
            os.environ[DIRECTORY_VARIABLE] = str(directory)  # where prometheus-client writes, and its collector reads
    if directory is not None and values.ValueClass is values.MutexValue:
        # prometheus-client chose at its import, from the environment; this process chooses now.
        values.ValueClass = values.MultiProcessValue()
    return directory


SHARED_DIRECTORY = _choose_storage()


def empty_shared_directory() -> None:
    """Remove every value file: for the one process that starts the others (or serves alone), before it serves."""
    if SHARED_DIRECTORY is not None:
        for file in SHARED_DIRECTORY.glob("*.db"):
            file.unlink(missing_ok=True)


def add_scrape_time_collector(collector: Collector) -> None:
    """A collector that computes its figures when scraped, in whichever process answers."""
    REGISTRY.register(collector)
    _scrape_time.append(collector)


def registry_to_scrape() -> CollectorRegistry:
    """What ``GET /metrics`` encodes: this process's registry, or every worker's values summed."""
    if SHARED_DIRECTORY is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(SHARED_DIRECTORY))
    for collector in _scrape_time:
        registry.register(collector)
    return registry


def process_exits() -> None:
    """A worker's last word: its live gauges stop counting (its counters and histograms still do)."""
    if SHARED_DIRECTORY is not None:
        multiprocess.mark_process_dead(os.getpid(), path=str(SHARED_DIRECTORY))
