"""Where the tail goes: the event loop's stops under load, and the garbage collector's collections.

Serves the service on MariaDB (``create_app`` and uvicorn as ``python main.py`` runs them) with two
probes in its process: a task on the event loop that sleeps 2 ms at a time and notes each wake-up
later than ``--lag-ms``, and ``gc.callbacks`` noting each collection that took over 2 ms. Then it
runs one ``wrk`` scenario of ``bench/perf.py`` against it and prints what the probes saw beside the
scenario's p50 and p99.

    .venv/bin/python bench/loop_lag.py                          # list_notes, 10 s (about 1 minute)
    .venv/bin/python bench/loop_lag.py --scenario get_note
    .venv/bin/python bench/loop_lag.py --no-freeze              # without main._freeze_startup_heap
    .venv/bin/python bench/loop_lag.py --connections 64 --turns 1000

``--no-freeze`` serves the service as it was before 2026-12-04: a full collection then walked the
whole startup heap with the loop stopped. ``--turns`` sets how many requests run on the loop engine
at once (``LoopRunner``'s ``concurrency``, by default ``database.engine.LOOP_CONCURRENCY``); a number
above ``--connections`` is no limit, as before 2026-12-04. It creates the database named in
--database-url (default til_bench_lag) anew.
"""

import argparse
import asyncio
import functools
import gc
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import main as service  # noqa: E402
from bench.perf import (  # noqa: E402
    PYTHON,
    free_port,
    mint_fixture,
    reset_database,
    run_wrk,
    seed_via_api,
    serve,
    service_env,
)
from config import load_settings  # noqa: E402
from database.engine import LOOP_CONCURRENCY, LoopRunner  # noqa: E402

COLLECTION_NOTED_MS = 2.0
PROBE_SLEEP_SECONDS = 0.002


class Probes:
    """What the probes saw, as lines ``<seconds since start> <what>``."""

    def __init__(self, lag_ms: float) -> None:
        self.lag_ms = lag_ms
        self.lines: list[str] = []
        self._started = time.monotonic()
        self._collecting_since = 0.0

    def note(self, what: str) -> None:
        self.lines.append(f"{time.monotonic() - self._started:8.3f} {what}")

    def on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collecting_since = time.perf_counter()
            return
        took_ms = (time.perf_counter() - self._collecting_since) * 1000
        if took_ms > COLLECTION_NOTED_MS:
            self.note(f"gc generation {info['generation']}: {took_ms:.1f} ms")

    async def watch_the_loop(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(PROBE_SLEEP_SECONDS)
            late_ms = (time.perf_counter() - asked - PROBE_SLEEP_SECONDS) * 1000
            if late_ms > self.lag_ms:
                self.note(f"loop late by {late_ms:.0f} ms")


def serve_with_probes(report: Path, *, lag_ms: float, freeze: bool, turns: int) -> None:
    """The service process: ``main.main``'s uvicorn, with the probes running from its start."""
    # What is measured: the service without the heap's freeze, or with another limit of the loop's turns.
    if not freeze:
        service._freeze_startup_heap = lambda: None
    service.LoopRunner = functools.partial(LoopRunner, concurrency=turns)
    probes = Probes(lag_ms)
    gc.callbacks.append(probes.on_collection)
    settings = load_settings()
    app = service.create_app(settings)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan_with_probes(served: Any) -> AsyncIterator[None]:
        async with service_lifespan(served):
            watcher = asyncio.get_running_loop().create_task(probes.watch_the_loop())
            try:
                yield
            finally:
                watcher.cancel()
                report.write_text("".join(f"{line}\n" for line in probes.lines))

    app.router.lifespan_context = lifespan_with_probes
    protocol = service.LoggedHttpToolsProtocol
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_config=None, access_log=False, http=protocol)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/til_bench_lag?charset=utf8mb4")
    parser.add_argument("--scenario", default="list_notes")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--lag-ms", type=float, default=20.0, help="note the loop when it wakes up this late")
    parser.add_argument("--no-freeze", action="store_true", help="serve without main._freeze_startup_heap")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--turns", type=int, default=LOOP_CONCURRENCY, help="requests on the loop engine at once")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the service process, writing its report here
    args = parser.parse_args()
    if args.serve:
        serve_with_probes(args.serve, lag_ms=args.lag_ms, freeze=not args.no_freeze, turns=args.turns)
        return

    work = Path(tempfile.mkdtemp(prefix="til-bench-lag-"))
    port = free_port()
    env = service_env(args.database_url, port)
    reset_database(args.database_url)
    with serve([PYTHON, "main.py"], env=env, port=port, ready_path="/health"):
        seeded = seed_via_api(f"http://127.0.0.1:{port}", users=args.users, notes_per_user=200)
    fixture = mint_fixture(seeded, work / "fixture.tsv")
    report = work / "probes.txt"
    command = [PYTHON, str(Path(__file__).resolve()), "--serve", str(report), "--lag-ms", str(args.lag_ms)]
    command += ["--turns", str(args.turns)]
    if args.no_freeze:
        command.append("--no-freeze")
    with serve(command, env=env, port=port, ready_path="/health"):
        result = run_wrk(
            port=port,
            scenario=args.scenario,
            fixture=fixture,
            seconds=args.seconds,
            connections=args.connections,
            warmup=2,
        )
    lines = report.read_text().splitlines()
    heap = "not frozen" if args.no_freeze else "frozen"
    print(f"# {args.scenario}, {args.connections} connections, {args.seconds} s, {args.turns} turns, heap {heap}")
    print(f"{result.requests_per_second:.0f} req/s  p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms")
    print(f"# the probes ({len(lines)} lines; seconds since the service started, warm-up included):")
    print("\n".join(lines))
    os.remove(report)


if __name__ == "__main__":
    main()
