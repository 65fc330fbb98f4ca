"""Sustained load on a real server on MariaDB: the clients, the servers, the verdict.

``run_load(...)`` starts the service the way an operator does — ``python
main.py``, or ``alembic upgrade head`` then ``uvicorn main:create_app --factory
--workers 2`` — sends it ``clients`` concurrent closed-loop clients for
``duration`` seconds, stops it, and checks the database against what the
clients were told (``tests/system/load/ledger.py``).

The clients (asyncio and httpx, one event loop) share accounts, a few clients
to an account, like one person on several devices: they read, create, change
and delete the same notes, so ``If-Match`` races are real. Each runs this mix,
one request after the other, with no pause:

| weight | operation |
|---|---|
| 18 | create a note (2–3 tags from a small shared vocabulary, Korean and emoji included) |
| 20 | change a note: GET it, then PUT with ``If-Match`` set to the ETag it got |
| 7 | delete a note: GET it, then DELETE with ``If-Match`` |
| 15 | get a note |
| 15 | list notes (pages of 10, 20 or 50) |
| 10 | list the notes of a tag |
| 5 | list tags |
| 4 | GET /users/me |
| 3 | log in again (a fresh token) |
| 3 | sign up a new account, log in, write its first note |

Every answer's status must be one the operation may give (2xx, or 412/404 for
a write that lost a race); a 5xx, a transport error or any other status is a
failure. Throughput counts every request answered inside the window; latency
is per request, from sending to the whole answer read.
"""

import asyncio
import contextlib
import importlib.util
import itertools
import json
import math
import os
import random
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from main import PROJECT_ROOT
from note.infra.db_models import NoteRow
from tests.support.live_server import LiveServer, is_request_line, live_server, main_py, uvicorn_factory
from tests.system.load.ledger import Ledger, StoredNote, Write, check

MODES = ("main", "workers2")
MODE_COMMANDS = {
    "main": "python main.py",
    "workers2": "alembic upgrade head; uvicorn main:create_app --factory --workers 2",
}
CLIENTS_PER_ACCOUNT = 5
PASSWORD = "correct horse battery"
JWT_SECRET = "load-test-secret-that-is-long-enough-for-hs256-0123"
TAGS = ("python", "sql", "http", "concurrency", "til", "한국어", "emoji-🙂", "Study", "study")
REQUEST_TIMEOUT_SECONDS = 30.0
ALEMBIC = str(Path(sys.executable).with_name("alembic"))

# httpcore asks ``import sniffio`` on every request; absent, that is a full search of sys.path each time
# (a third of the driver's CPU). None in sys.modules answers the same ImportError at once.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

OPERATIONS = {
    "create_note": 18,
    "update_note": 20,
    "delete_note": 7,
    "get_note": 15,
    "list_notes": 15,
    "notes_by_tag": 10,
    "list_tags": 5,
    "me": 4,
    "login": 3,
    "signup": 3,
}
# What each request may answer; anything else is a failure.
EXPECTED = {
    "POST /users": {201},
    "POST /users/login": {200},
    "GET /users/me": {200},
    "POST /notes": {201},
    "GET /notes/{id}": {200, 404},  # 404: a teammate deleted it
    "PUT /notes/{id}": {200, 404, 412},  # 412: a teammate wrote first
    "DELETE /notes/{id}": {204, 404, 412},
    "GET /notes": {200},
    "GET /notes/tags/{tag}/notes": {200},
    "GET /tags": {200},
}


# -- what was measured -----------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    wrong_answers: list[str] = field(default_factory=list)
    client_cpu_seconds: float = 0.0  # CPU the load driver's own process used in the window

    def record(self, route: str, status: int, seconds: float) -> None:
        self.latencies.setdefault(route, []).append(seconds)
        self.statuses.setdefault(route, Counter())[status] += 1

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def server_errors(self) -> int:
        return sum(count for counter in self.statuses.values() for status, count in counter.items() if status >= 500)

    def count(self, route: str, status: int) -> int:
        return self.statuses.get(route, Counter())[status]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class LoadResult:
    mode: str
    clients: int
    duration: float  # the measured window, seconds
    stats: Stats
    ledger: Ledger
    problems: list[str]  # the database against what clients were told
    server_5xx_logged: int  # request lines with status >= 500 in the server's activity log
    accounts: int

    @property
    def throughput(self) -> float:
        return self.stats.requests / self.duration

    def all_latencies(self) -> list[float]:
        return [value for values in self.stats.latencies.values() for value in values]

    def failures(self) -> list[str]:
        """Everything that breaks the contract; empty when the run passed."""
        failures = []
        if self.stats.server_errors:
            failures.append(f"{self.stats.server_errors} answers were 5xx")
        if self.server_5xx_logged:
            failures.append(f"the server logged {self.server_5xx_logged} requests answered 5xx")
        failures += [f"transport error: {error}" for error in self.stats.transport_errors[:10]]
        failures += [f"unexpected status: {line}" for line in self.stats.unexpected[:10]]
        failures += [f"wrong answer: {line}" for line in self.stats.wrong_answers[:10]]
        failures += self.problems[:20]
        return failures

    def summary(self) -> str:
        everything = self.all_latencies()
        notes = self.ledger.notes
        lines = [
            f"{self.mode} ({MODE_COMMANDS[self.mode]}): {self.clients} clients on {self.accounts} accounts, "
            f"{self.duration:.1f} s: {self.stats.requests} requests, {self.throughput:.1f} req/s, "
            f"p50 {percentile(everything, 0.5) * 1000:.0f} ms, p99 {percentile(everything, 0.99) * 1000:.0f} ms, "
            f"max {max(everything, default=math.nan) * 1000:.0f} ms; 5xx {self.stats.server_errors} "
            f"(server log: {self.server_5xx_logged}), transport errors {len(self.stats.transport_errors)}; "
            f"the driver used {self.stats.client_cpu_seconds / self.duration:.0%} of a core",
            f"  {'request':<28} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses",
        ]
        for route in sorted(self.stats.latencies):
            values = self.stats.latencies[route]
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.stats.statuses[route].items()))
            lines.append(
                f"  {route:<28} {len(values):>7} {percentile(values, 0.5) * 1000:>8.1f} "
                f"{percentile(values, 0.99) * 1000:>8.1f} {max(values) * 1000:>8.1f}  {statuses}"
            )
        deleted = sum(history.deleted_at is not None for history in notes.values())
        lines.append(
            f"  notes: {len(notes)} created, {deleted} deleted, {self.ledger.successful_updates()} If-Match writes "
            f"succeeded, {self.stats.count('PUT /notes/{id}', 412)} refused 412; "
            + ("database checks passed" if not self.problems else f"{len(self.problems)} database problems")
        )
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        everything = self.all_latencies()
        return {
            "mode": self.mode,
            "command": MODE_COMMANDS[self.mode],
            "clients": self.clients,
            "accounts": self.accounts,
            "seconds": round(self.duration, 2),
            "requests": self.stats.requests,
            "requests_per_second": round(self.throughput, 1),
            "p50_ms": round(percentile(everything, 0.5) * 1000, 1),
            "p99_ms": round(percentile(everything, 0.99) * 1000, 1),
            "max_ms": round(max(everything, default=math.nan) * 1000, 1),
            "server_errors": self.stats.server_errors,
            "server_5xx_logged": self.server_5xx_logged,
            "transport_errors": len(self.stats.transport_errors),
            "driver_cpu_share": round(self.stats.client_cpu_seconds / self.duration, 2),
            "by_request": {
                route: {
                    "count": len(values),
                    "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                    "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                    "statuses": dict(self.stats.statuses[route]),
                }
                for route, values in sorted(self.stats.latencies.items())
            },
            "notes_created": len(self.ledger.notes),
            "if_match_writes": self.ledger.successful_updates(),
            "failures": self.failures(),
        }


# -- the clients -------------------------------------------------------------------


@dataclass
class Account:
    email: str
    user_id: str = ""
    live: list[str] = field(default_factory=list)  # notes told created and not told deleted


class Client:
    """One closed-loop client: an account, a token, a random generator of its own."""

    def __init__(
        self,
        *,
        number: int,
        http: httpx.AsyncClient,
        account: Account,
        ledger: Ledger,
        stats: Stats,
        run: str,
        seed: int,
    ) -> None:
        self.number = number
        self.http = http
        self.account = account
        self.ledger = ledger
        self.stats = stats
        self.run_id = run
        self.rng = random.Random(f"{seed}-{number}")  # the same choices for the same --seed
        self.headers: dict[str, str] = {}
        self.sequence = itertools.count(1)
        self.recording = False

    # -- one request -----------------------------------------------------------
    async def call(self, route: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.stats.transport_errors.append(f"{route}: {type(error).__name__}: {error}")
            return None
        elapsed = time.perf_counter() - started
        if self.recording:
            self.stats.record(route, response.status_code, elapsed)
        if response.status_code not in EXPECTED[route]:
            self.stats.unexpected.append(f"{route} -> {response.status_code} {response.text[:200]}")
        return response

    async def login(self) -> None:
        response = await self.call(
            "POST /users/login", "POST", "/users/login", data={"username": self.account.email, "password": PASSWORD}
        )
        if response is not None and response.status_code == 200:
            self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    # -- the mix -----------------------------------------------------------------
    async def run(self, *, deadline: float) -> None:
        operations, weights = zip(*OPERATIONS.items(), strict=True)
        while time.perf_counter() < deadline:
            operation = self.rng.choices(operations, weights=weights)[0]
            await getattr(self, operation)()

    def _note_body(self) -> dict[str, Any]:
        content = f"client {self.number} write {next(self.sequence)} {self.rng.getrandbits(64):016x}"
        return {
            "title": f"TIL {self.rng.randrange(10_000)} 오늘 배운 것",
            "content": content,
            "memo_date": f"2026{self.rng.randrange(1, 13):02d}{self.rng.randrange(1, 29):02d}",
            "tags": self.rng.sample(TAGS, self.rng.randrange(2, 4)),
        }

    def _pick(self) -> str | None:
        return self.rng.choice(self.account.live) if self.account.live else None

    async def create_note(self, account: Account | None = None, headers: dict[str, str] | None = None) -> None:
        account = account or self.account
        body = self._note_body()
        response = await self.call("POST /notes", "POST", "/notes", json=body, headers=headers or self.headers)
        if response is None or response.status_code != 201:
            return
        note = response.json()
        if note["content"] != body["content"] or note["user_id"] != account.user_id:
            self.stats.wrong_answers.append(f"POST /notes answered {note}")
        write = Write(version=_version(response), based_on=None, content=body["content"], client=self.number)
        self.ledger.created(note_id=note["id"], user_id=account.user_id, write=write)
        account.live.append(note["id"])

    async def _current_version(self, note_id: str) -> int | None:
        response = await self.call("GET /notes/{id}", "GET", f"/notes/{note_id}", headers=self.headers)
        if response is None or response.status_code != 200:
            return None
        return _version(response)

    async def update_note(self) -> None:
        note_id = self._pick()
        if note_id is None:
            await self.create_note()
            return
        version = await self._current_version(note_id)
        if version is None:
            return
        body = self._note_body()
        response = await self.call(
            "PUT /notes/{id}",
            "PUT",
            f"/notes/{note_id}",
            json=body,
            headers={**self.headers, "If-Match": f'"{version}"'},
        )
        if response is None:
            self.ledger.lost_answer(note_id)
        elif response.status_code == 200:
            if response.json()["content"] != body["content"]:
                self.stats.wrong_answers.append(f"PUT /notes/{note_id} answered {response.json()}")
            write = Write(version=_version(response), based_on=version, content=body["content"], client=self.number)
            self.ledger.wrote(note_id, write)

    async def delete_note(self) -> None:
        note_id = self._pick()
        if note_id is None:
            return
        version = await self._current_version(note_id)
        if version is None:
            return
        response = await self.call(
            "DELETE /notes/{id}", "DELETE", f"/notes/{note_id}", headers={**self.headers, "If-Match": f'"{version}"'}
        )
        if response is None:
            self.ledger.lost_answer(note_id)
        elif response.status_code == 204:
            self.ledger.deleted(note_id, version=version)
            with contextlib.suppress(ValueError):  # a teammate may have dropped it from the list already
                self.account.live.remove(note_id)

    async def get_note(self) -> None:
        note_id = self._pick()
        if note_id is not None:
            await self._current_version(note_id)

    async def list_notes(self) -> None:
        params = {"page": self.rng.randrange(1, 4), "items_per_page": self.rng.choice((10, 20, 50))}
        response = await self.call("GET /notes", "GET", "/notes", params=params, headers=self.headers)
        if response is not None and response.status_code == 200:
            strangers = [n["id"] for n in response.json()["notes"] if n["user_id"] != self.account.user_id]
            if strangers:
                self.stats.wrong_answers.append(f"GET /notes listed other users' notes {strangers[:3]}")

    async def notes_by_tag(self) -> None:
        tag = self.rng.choice(TAGS)
        response = await self.call(
            "GET /notes/tags/{tag}/notes", "GET", f"/notes/tags/{tag}/notes", headers=self.headers
        )
        if response is not None and response.status_code == 200:
            untagged = [n["id"] for n in response.json()["notes"] if tag not in n["tags"]]
            if untagged:
                self.stats.wrong_answers.append(f"notes without the tag {tag!r} listed under it: {untagged[:3]}")

    async def list_tags(self) -> None:
        await self.call("GET /tags", "GET", "/tags", headers=self.headers)

    async def me(self) -> None:
        await self.call("GET /users/me", "GET", "/users/me", headers=self.headers)

    async def signup(self) -> None:
        """A newcomer: sign up, log in, write a first note (the client then goes back to its own account)."""
        newcomer = Account(email=f"load-{self.run_id}-{self.number}-{next(self.sequence)}@load.test")
        if not await sign_up(self, newcomer):
            return
        response = await self.call(
            "POST /users/login", "POST", "/users/login", data={"username": newcomer.email, "password": PASSWORD}
        )
        if response is not None and response.status_code == 200:
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            await self.create_note(newcomer, headers)


def _version(response: httpx.Response) -> int:
    return int(response.headers["ETag"].strip('"'))


async def sign_up(client: Client, account: Account) -> bool:
    body = {"name": "Load Tester", "email": account.email, "password": PASSWORD}
    response = await client.call("POST /users", "POST", "/users", json=body)
    if response is None or response.status_code != 201:
        return False
    account.user_id = response.json()["id"]
    client.ledger.user_ids.add(account.user_id)
    return True


async def drive(*, base_url: str, clients: int, duration: float, seed: int) -> tuple[Stats, Ledger, float, int]:
    """Set the accounts up (not measured), then run every client for ``duration`` seconds."""
    stats, ledger = Stats(), Ledger()
    run = uuid.uuid4().hex[:12]  # in every email this run signs up: runs never collide
    accounts = [Account(email=f"load-{run}-{n}@load.test") for n in range(math.ceil(clients / CLIENTS_PER_ACCOUNT))]
    tls = ssl.create_default_context()  # unused over http, but httpx builds one a client unless given
    async with contextlib.AsyncExitStack() as stack:
        # A connection (and an httpx client) each, as separate devices have: one shared pool of 50 costs
        # the driver more CPU than the requests (httpcore scans the whole pool for every request).
        runners = [
            Client(
                number=n,
                http=await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS, verify=tls)
                ),
                account=accounts[n % len(accounts)],
                ledger=ledger,
                stats=stats,
                run=run,
                seed=seed,
            )
            for n in range(clients)
        ]
        signed_up = await asyncio.gather(*(sign_up(runners[n], account) for n, account in enumerate(accounts)))
        if not all(signed_up):
            raise RuntimeError(f"setup failed: {stats.unexpected[:3]} {stats.transport_errors[:3]}")
        await asyncio.gather(*(runner.login() for runner in runners))
        if any(not runner.headers for runner in runners):
            raise RuntimeError(f"setup failed: {stats.unexpected[:3]} {stats.transport_errors[:3]}")
        for runner in runners:
            runner.recording = True
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(runner.run(deadline=started + duration) for runner in runners))
        window = time.perf_counter() - started
        stats.client_cpu_seconds = time.process_time() - cpu
    return stats, ledger, window, len(accounts)


def run_clients(*, base_url: str, clients: int, duration: float, seed: int) -> tuple[Stats, Ledger, float, int]:
    return uvloop.run(drive(base_url=base_url, clients=clients, duration=duration, seed=seed))


# -- the servers -------------------------------------------------------------------


def server_environment(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "LOG_LEVEL": "INFO"}


@contextlib.contextmanager
def serve(*, mode: str, database_url: str, workdir: Path) -> Iterator[LiveServer]:
    """The service in ``mode``, started as README.md says, stopped (with its workers) whatever happens."""
    env = server_environment(database_url)
    if mode == "main":
        command = main_py()
    elif mode == "workers2":
        subprocess.run(
            [ALEMBIC, "upgrade", "head"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )
        log_config = str(PROJECT_ROOT / "observability" / "log_config.json")
        command = uvicorn_factory("main:create_app", "--workers", "2", "--no-access-log", "--log-config", log_config)
    else:
        raise ValueError(f"mode: one of {MODES}")
    with live_server(name=f"load-{mode}", command=command, workdir=workdir, env=env) as server:
        yield server


def server_errors_logged(server: LiveServer) -> int:
    """Request lines of the activity log with a 5xx status (a line that is not JSON is left to the log tests)."""
    count = 0
    for line in server.stdout_lines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and is_request_line(record) and record["status"] >= 500:
                count += 1
    return count


def stored_notes(database_url: str, user_ids: set[str]) -> dict[str, StoredNote]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(NoteRow.id, NoteRow.user_id, NoteRow.version, NoteRow.content).where(
                    NoteRow.user_id.in_(sorted(user_ids))
                )
            ).all()
    finally:
        engine.dispose()
    return {row.id: StoredNote(user_id=row.user_id, version=row.version, content=row.content) for row in rows}


def run_load(
    *, mode: str, database_url: str, clients: int, duration: float, workdir: Path, seed: int = 1
) -> LoadResult:
    if make_url(database_url).get_backend_name() not in ("mysql", "mariadb"):
        raise ValueError("the load runs on MariaDB/MySQL: DATABASE_URL mysql+pymysql://...")
    with serve(mode=mode, database_url=database_url, workdir=workdir) as server:
        stats, ledger, window, accounts = run_clients(
            base_url=server.base_url, clients=clients, duration=duration, seed=seed
        )
        time.sleep(0.5)  # the last request lines
        logged_5xx = server_errors_logged(server)
    problems = check(ledger, stored_notes(database_url, ledger.user_ids))
    return LoadResult(
        mode=mode,
        clients=clients,
        duration=window,
        stats=stats,
        ledger=ledger,
        problems=problems,
        server_5xx_logged=logged_5xx,
        accounts=accounts,
    )
