"""What running the routes on the event loop is worth: the same reads on the loop and in threads.

The service's own routes, use cases and repositories, called in one
process as ``bench/in_process.py`` calls them (every middleware, one user
with 200 notes on MariaDB), two ways, in alternating rounds:

- ``on_loop``: as shipped on MariaDB. The note routes (``@on_event_loop``,
  web/routing.py) run in a greenlet on the event loop over the asyncmy loop
  engine (database/engine.py).
- ``threads``: as before it, and as on SQLite. The same app without its loop
  engine: the routes run in a worker thread of the pool over PyMySQL.

Bound (b) and (c) of ``bench/bounds.py`` are measured in the same run, for the ratios.

    .venv/bin/python bench/on_loop.py            # ~2 min
    .venv/bin/python bench/on_loop.py --rounds 3

It creates and drops the database named in --database-url (default til_bench_on_loop).
"""

import os
import sys
from pathlib import Path

import uvloop
from dependency_injector import providers
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bounds  # noqa: E402
from bench.in_process import Call, arguments, cpu_per_request, hot_calls, seeded_service  # noqa: E402
from config import Settings  # noqa: E402
from main import create_app  # noqa: E402


def app_in_threads(settings: Settings) -> FastAPI:
    """The service without its loop engine: every route in a worker thread, over PyMySQL (as on SQLite)."""
    app = create_app(settings)
    app.state.container.loop_engine.override(providers.Object(None))
    return app


def main() -> None:
    parser = arguments(__doc__ or "", database="til_bench_on_loop")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    settings, token, user_id, note_id = seeded_service(args.database_url, notes=200)
    measure = {"requests": args.requests, "concurrency": args.concurrency}
    calls = hot_calls(note_id)
    figures: dict[tuple[str, str], list[float]] = {}
    bound_b: list[float] = []
    bound_c: list[float] = []
    log = open(os.devnull, "w")  # noqa: SIM115 - the activity log's lines, for the whole run
    real_stdout, sys.stdout = sys.stdout, log
    try:
        for _ in range(args.rounds):
            bound = Call("/bound/db", f"user_id={user_id}")
            bound_b.append(uvloop.run(cpu_per_request(bounds.db_app, bound, token, **measure)))
            bound_c.append(uvloop.run(cpu_per_request(bounds.async_db_app, bound, token, **measure)))
            for way, make_app in (("threads", app_in_threads), ("on_loop", create_app)):
                for name, request in calls.items():
                    cpu = uvloop.run(cpu_per_request(make_app(settings), request, token, **measure))
                    figures.setdefault((name, way), []).append(cpu)
    finally:
        sys.stdout = real_stdout
    b, c = min(bound_b), min(bound_c)
    print(f"# {args.requests} requests a path, {args.concurrency} in flight, best of {args.rounds} rounds")
    print(f"{'bound (b)':<14} {b:7.0f} us CPU a request")
    print(f"{'bound (c)':<14} {c:7.0f} us CPU a request  {c / b:4.2f}x bound (b)")
    for name in calls:
        threads, on_loop = min(figures[name, "threads"]), min(figures[name, "on_loop"])
        print(
            f"{name:<14} threads {threads:6.0f} us ({threads / b:4.2f}x (b))   "
            f"on_loop {on_loop:6.0f} us ({on_loop / b:4.2f}x (b))   {on_loop / threads - 1:+.0%}"
        )


if __name__ == "__main__":
    main()
