"""What the next design step of the request path is worth, measured before it is built.

The service's own routes, use cases and repositories, unchanged, called in
one process as ``bench/in_process.py`` calls them (every middleware, one user
with 200 notes on MariaDB), two ways, in alternating rounds:

- ``threads``: as shipped. The route runs in a worker thread of the pool
  (``web/routing.py``) and its units of work talk to MariaDB through PyMySQL.
- ``on_loop``: the same route code run in a greenlet on the event loop
  (SQLAlchemy's ``greenlet_spawn``, what its asyncio extension runs sync ORM
  code with), over an ``asyncmy`` engine whose sync facade the units of work
  use as they use an engine today. No worker thread, a C-accelerated driver,
  and no change to a use case or a repository.

This script makes ``on_loop`` with two substitutions of its own (the route
runner, and the engine ``build_engine`` creates); the service is not changed.
Routes that hash a password (Argon2 would stop the loop) and the periodic
threads are not measured: a design that runs routes on the loop keeps those in
threads, on an engine of their own. Bound (b) and (c) of ``bench/bounds.py`` are
measured in the same run, for the ratios.

    .venv/bin/python bench/on_loop.py            # ~1 min
    .venv/bin/python bench/on_loop.py --rounds 3

It creates and drops the database named in --database-url (default til_bench_on_loop).
"""

import argparse
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import greenlet_spawn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import database.engine  # noqa: E402
import web.routing  # noqa: E402
from bench import bounds  # noqa: E402
from bench.in_process import cpu_per_request, seed  # noqa: E402
from bench.perf import JWT_SECRET, reset_database  # noqa: E402
from config import load_settings  # noqa: E402
from main import create_app  # noqa: E402

# PyMySQL's socket timeouts; asyncmy has none of its own (a design on it bounds each await instead).
PYMYSQL_ONLY = ("read_timeout", "write_timeout")


def asyncmy_sync_facade(url: Any, *, connect_args: dict[str, Any], **options: Any) -> Any:
    """``create_engine``'s stand-in: an asyncmy engine's sync facade, with the options build_engine chose."""
    kept = {name: value for name, value in connect_args.items() if name not in PYMYSQL_ONLY}
    async_url = make_url(url).set(drivername="mysql+asyncmy")
    return create_async_engine(async_url, connect_args=kept, **options).sync_engine


@contextmanager
def routes_on_the_loop() -> Iterator[None]:
    real_runner, real_create_engine = web.routing.run_in_threadpool, database.engine.create_engine
    web.routing.run_in_threadpool = greenlet_spawn
    database.engine.create_engine = asyncmy_sync_facade
    try:
        with warnings.catch_warnings():
            # The periodic threads (email relay, digest; not measured) cannot use an asyncmy engine from a
            # thread of their own: their passes fail, are logged and retried. What Python says of it is left out.
            warnings.filterwarnings("ignore", message="coroutine '_connect' was never awaited")
            warnings.filterwarnings("ignore", message="The garbage collector is trying to clean up")
            yield
    finally:
        web.routing.run_in_threadpool, database.engine.create_engine = real_runner, real_create_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default="mysql+pymysql://root@127.0.0.1:3306/til_bench_on_loop?charset=utf8mb4"
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    reset_database(args.database_url)
    settings = load_settings(
        _env_file=None, database_url=args.database_url, jwt_secret=JWT_SECRET, access_token_expire_minutes=600
    )
    token, user_id, note_id = seed(create_app(settings), notes=200)
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    os.environ["JWT_SECRET"] = JWT_SECRET
    measure = {"requests": args.requests, "concurrency": args.concurrency}
    paths = [
        ("list_notes", "/notes", ""),
        ("get_note", f"/notes/{note_id}", ""),
        ("notes_by_tag", "/notes/tags/common/notes", ""),
        ("search_notes", "/notes", "q=common"),
    ]
    figures: dict[tuple[str, str], list[float]] = {}
    bound_b: list[float] = []
    bound_c: list[float] = []
    log = open(os.devnull, "w")  # noqa: SIM115 - the activity log's lines, for the whole run
    real_stdout, sys.stdout = sys.stdout, log
    try:
        for _ in range(args.rounds):
            query = f"user_id={user_id}"
            bound_b.append(uvloop.run(cpu_per_request(bounds.db_app, "/bound/db", query, token, **measure)))
            bound_c.append(uvloop.run(cpu_per_request(bounds.async_db_app, "/bound/db", query, token, **measure)))
            for way in ("threads", "on_loop"):
                for name, path, query in paths:
                    if way == "threads":
                        app = create_app(settings)
                        cpu = uvloop.run(cpu_per_request(app, path, query, token, **measure))
                    else:
                        with routes_on_the_loop():
                            app = create_app(settings)
                            cpu = uvloop.run(cpu_per_request(app, path, query, token, **measure))
                    figures.setdefault((name, way), []).append(cpu)
    finally:
        sys.stdout = real_stdout
    b, c = min(bound_b), min(bound_c)
    print(f"# {args.requests} requests a path, {args.concurrency} in flight, best of {args.rounds} rounds")
    print(f"{'bound (b)':<14} {b:7.0f} us CPU a request")
    print(f"{'bound (c)':<14} {c:7.0f} us CPU a request  {c / b:4.2f}x bound (b)")
    for name, _path, _query in paths:
        threads, on_loop = min(figures[name, "threads"]), min(figures[name, "on_loop"])
        print(
            f"{name:<14} threads {threads:6.0f} us ({threads / b:4.2f}x (b))   "
            f"on_loop {on_loop:6.0f} us ({on_loop / b:4.2f}x (b))   {on_loop / threads - 1:+.0%}"
        )


if __name__ == "__main__":
    main()
