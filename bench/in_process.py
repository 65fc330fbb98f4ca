"""CPU time per request of the hot reads, in one process: no uvicorn, no wrk, no socket.

The service (``create_app``, every middleware, one user with 200 notes on
MariaDB) and bound (b) (``bench/bounds.py``) are called straight through
ASGI by ``--concurrency`` coroutines on uvloop, after a warm-up; for each
path, the process's CPU time per request (its worker threads included) and
that of the service as a multiple of bound (b)'s. On a shared two-core
machine a ``wrk`` run moves by several per cent between rounds; this moves
by two or three, so it tells two versions of the request path apart. It
leaves out what uvicorn costs both (about a third of bound (b) under wrk),
so its ratios are not those of ``bench/perf.py``, the figures of record.

    .venv/bin/python bench/in_process.py                       # list, one note, by tag, search; and bound (b)
    .venv/bin/python bench/in_process.py --requests 4000 --concurrency 8
    .venv/bin/python bench/in_process.py --writes              # and create_note, update_note

It creates and drops the database named in --database-url (default til_bench_inproc).
"""

import argparse
import asyncio
import itertools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvloop
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bounds  # noqa: E402
from bench.bulk_load import PASSWORD  # noqa: E402
from bench.perf import JWT_SECRET, reset_database  # noqa: E402
from config import Settings, load_settings  # noqa: E402
from main import create_app  # noqa: E402

Asgi = Callable[[dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def seed(app: Any, *, notes: int) -> tuple[str, str, str]:
    """One user with ``notes`` notes (a third tagged ``common``), through the API: its token, id and a note id."""
    with TestClient(app) as client:
        email = "in-process@bench.example.com"
        client.post("/users", json={"name": "In process", "email": email, "password": PASSWORD}).raise_for_status()
        token = client.post("/users/login", data={"username": email, "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for number in range(notes):
            body = {
                "title": f"TIL {number}",
                "content": "Benchmarks measure; they do not guess. " * 4,
                "memo_date": "20261201",
                "tags": ["common"] if number % 3 == 0 else [f"tag-{number % 7}"],
            }
            client.post("/notes", json=body, headers=headers).raise_for_status()
        user_id = client.get("/users/me", headers=headers).json()["id"]
        note_id = client.get("/notes", headers=headers).json()["notes"][0]["id"]
    return token, user_id, note_id


@dataclass(frozen=True)
class Call:
    """A request of a measure: ``body`` (JSON) makes it a write; a write's tags change at every call."""

    path: str
    query: str = ""
    method: str = "GET"
    body: Callable[[int], bytes] | None = None


def new_tags(number: int) -> list[str]:
    """Three tags of a 50-name pool, as ``bench/wrk/scenario.lua``'s writes pick them."""
    return [f"bench-{number * 7 % 50}", f"bench-{number * 13 % 50}", f"tag-{number % 50}"]


def created(number: int) -> bytes:
    body = {
        "title": f"TIL {number}",
        "content": "Written in process.",
        "memo_date": "20261201",
        "tags": new_tags(number),
    }
    return orjson.dumps(body)


def retagged(number: int) -> bytes:
    return orjson.dumps({"tags": new_tags(number)})


async def call(app: Asgi, request: Call, token: str, number: int = 0) -> None:
    body = b"" if request.body is None else request.body(number)
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    if request.body is not None:
        headers.append((b"content-type", b"application/json"))
    path = request.path
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": request.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses not in ([200], [201]):
        raise SystemExit(f"{request.method} {path}?{request.query}: {statuses}")


async def cpu_per_request(app: Any, request: Call, token: str, *, requests: int, concurrency: int) -> float:
    """Microseconds of process CPU time per request, ``concurrency`` requests in flight."""
    numbers = itertools.count()
    async with app.router.lifespan_context(app):
        for _ in range(100):
            await call(app, request, token, next(numbers))

        async def client(count: int) -> None:
            for _ in range(count):
                await call(app, request, token, next(numbers))

        started = time.process_time()
        await asyncio.gather(*(client(requests // concurrency) for _ in range(concurrency)))
        return (time.process_time() - started) / (requests // concurrency * concurrency) * 1e6


def arguments(description: str, *, database: str) -> argparse.ArgumentParser:
    """The options every in-process script takes: its database, how many requests and how many at once."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"mysql+pymysql://root@127.0.0.1:3306/{database}?charset=utf8mb4")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    return parser


def seeded_service(database_url: str, *, notes: int) -> tuple[Settings, str, str, str]:
    """A fresh database with one seeded user, and the environment the bound apps read: the service's
    settings, the user's token, its id and a note id."""
    reset_database(database_url)
    settings = load_settings(
        _env_file=None, database_url=database_url, jwt_secret=JWT_SECRET, access_token_expire_minutes=600
    )
    token, user_id, note_id = seed(create_app(settings), notes=notes)
    os.environ["BENCH_DATABASE_URL"] = database_url
    os.environ["JWT_SECRET"] = JWT_SECRET
    return settings, token, user_id, note_id


def hot_calls(note_id: str, *, writes: bool = False) -> dict[str, Call]:
    """The hot reads by name; with ``writes``, creating a note and changing one's tags (``If-Match``-less)."""
    calls = {
        "list_notes": Call("/notes"),
        "get_note": Call(f"/notes/{note_id}"),
        "notes_by_tag": Call("/notes/tags/common/notes"),
        "search_notes": Call("/notes", "q=common"),
    }
    if writes:
        calls["create_note"] = Call("/notes", method="POST", body=created)
        calls["update_note"] = Call(f"/notes/{note_id}", method="PUT", body=retagged)
    return calls


def main() -> None:
    parser = arguments(__doc__ or "", database="til_bench_inproc")
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--writes", action="store_true", help="also create_note and update_note")
    args = parser.parse_args()

    settings, token, user_id, note_id = seeded_service(args.database_url, notes=args.notes)
    measure = {"requests": args.requests, "concurrency": args.concurrency}
    # The activity log's JSON lines go to stdout: away from the figures, as a server's would be.
    log = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
    real_stdout, sys.stdout = sys.stdout, log
    try:
        bound = uvloop.run(cpu_per_request(bounds.db_app, Call("/bound/db", f"user_id={user_id}"), token, **measure))
        figures = {
            name: uvloop.run(cpu_per_request(create_app(settings), request, token, **measure))
            for name, request in hot_calls(note_id, writes=args.writes).items()
        }
    finally:
        sys.stdout = real_stdout
    print(f"# {args.requests} requests a path, {args.concurrency} in flight, {args.notes} notes")
    print(f"{'bound_db':<14} {bound:7.0f} us CPU a request")
    for name, cpu in figures.items():
        print(f"{name:<14} {cpu:7.0f} us CPU a request  {cpu / bound:4.2f}x bound (b)")


if __name__ == "__main__":
    main()
