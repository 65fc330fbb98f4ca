"""The service's benchmark suite: scenarios against a live ``python main.py`` on
MariaDB, each figure also given as a ratio to bound apps run in the same session.

    .venv/bin/python bench/perf.py                 # scenarios + bounds + hash bound (about 4 minutes)
    .venv/bin/python bench/perf.py --scale         # also the reads at 10 k and 1 M notes (bulk-loaded)
    .venv/bin/python bench/perf.py --scale-only    # only that
    .venv/bin/python bench/perf.py --workers       # also two uvicorn workers against one
    .venv/bin/python bench/perf.py --profile       # also a py-spy profile of the slowest read scenario
    .venv/bin/python bench/perf.py --only list_notes,get_note   # only these scenarios (and the bounds)

Needs wrk (Debian package) and a MariaDB/MySQL server; it creates and drops
the database named in --database-url (default til_bench on 127.0.0.1).
Results go to bench/results/ (git-ignored); one line a scenario is printed.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_load import PASSWORD, bulk_load  # noqa: E402
from user.infra.argon2_password_hasher import Argon2PasswordHasher  # noqa: E402
from user.infra.jose_token_issuer import JoseTokenIssuer  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent
RESULTS = ROOT / "bench" / "results"
PROFILES = ROOT / "bench" / "profiles"
WRK_SCRIPT = ROOT / "bench" / "wrk" / "scenario.lua"
JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"

# search_notes: one term (the tag name "common") that a third of each user's notes match; the two-term form adds
# "학습", in every note's tags; filter_date_range: a month around the seeded memo_date (every note of the user).
SEARCHES = ["search_notes", "search_notes_two_terms", "filter_date_range"]
READS = ["list_notes", "list_notes_deep", "notes_by_tag", "get_note", *SEARCHES]
WRITES = ["create_note", "update_note"]
AUTH = ["login", "signup"]
COMMON_TAG = "common"


@dataclass
class Result:
    scenario: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    extra: dict = field(default_factory=dict)

    def line(self, bound_b: "Result | None" = None) -> str:
        ratio = ""
        if bound_b is not None and bound_b is not self:
            ratio = (
                f"  {self.requests_per_second / bound_b.requests_per_second:6.0%} of (b) req/s"
                f"  p99 {self.p99_ms / bound_b.p99_ms:4.1f}x (b)"
            )
        return (
            f"{self.scenario:<24} {self.requests_per_second:8.1f} req/s  p50 {self.p50_ms:7.2f} ms"
            f"  p99 {self.p99_ms:7.2f} ms  non-2xx {self.non_2xx}{ratio}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(command: Sequence[str], *, env: dict[str, str], port: int, ready_path: str) -> Iterator[subprocess.Popen]:
    """Start a server process, wait until ``ready_path`` answers, stop it afterwards."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
        yield from _serving(process, log=log, command=command, port=port, ready_path=ready_path)


def _serving(
    process: subprocess.Popen, *, log: IO[bytes], command: Sequence[str], port: int, ready_path: str
) -> Iterator[subprocess.Popen]:
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{command} exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not answer within 60 s")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def service_env(database_url: str, port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BENCH_DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "ACCESS_TOKEN_EXPIRE_MINUTES": "600",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        # Never throttle the login scenario: every request uses the right password.
        "LOGIN_MAX_FAILURES": "1000000",
    }


def reset_database(database_url: str) -> None:
    url = make_url(database_url)
    server = create_engine(url.set(database=""))
    with server.begin() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
        connection.execute(text(f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4"))
    server.dispose()
    subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET},
        check=True,
        capture_output=True,
    )


@dataclass
class SeededUser:
    token: str
    id: str
    email: str
    tag: str
    note_ids: list[str]

    def line(self) -> str:
        return "\t".join([self.token, self.id, self.email, self.tag, ",".join(self.note_ids)])


def seed_via_api(base_url: str, *, users: int, notes_per_user: int) -> list[SeededUser]:
    """Users and notes created through the API, as a client would; a third of each
    user's notes carry the ``common`` tag."""
    run = random.Random(7)

    def one_user(number: int) -> SeededUser:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            email = f"bench-{number}@bench.example.com"
            created = client.post("/users", json={"name": f"Bench {number}", "email": email, "password": PASSWORD})
            created.raise_for_status()
            login = client.post("/users/login", data={"username": email, "password": PASSWORD})
            login.raise_for_status()
            token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            note_ids = []
            for index in range(notes_per_user):
                tags = [f"bench-{run.randint(1, 50)}", f"학습-{run.randint(1, 50)}"]
                if index % 3 == 0:
                    tags.append(COMMON_TAG)
                note = client.post(
                    "/notes",
                    headers=headers,
                    json={
                        "title": f"TIL {index}",
                        "content": "Benchmarks measure; they do not guess. 오늘 배운 것 " * 2,
                        "memo_date": "20261127",
                        "tags": tags,
                    },
                )
                note.raise_for_status()
                note_ids.append(note.json()["id"])
            return SeededUser(token=token, id=created.json()["id"], email=email, tag=COMMON_TAG, note_ids=note_ids)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one_user, range(users)))


def run_wrk(*, port: int, scenario: str, fixture: Path, seconds: int, connections: int, warmup: int) -> Result:
    def once(duration: int, seed: int) -> dict:
        completed = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "-s",
                str(WRK_SCRIPT),
                f"http://127.0.0.1:{port}",
                "--",
                scenario,
                str(fixture),
                str(seed),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"WRK_RESULT (\{.*\})", completed.stdout)
        if match is None:
            raise RuntimeError(f"wrk printed no result: {completed.stdout}\n{completed.stderr}")
        return json.loads(match.group(1))

    if warmup:
        once(warmup, seed=1)
    data = once(seconds, seed=2)
    return Result(
        scenario=scenario,
        requests_per_second=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
    )


def hash_bound(seconds: float = 5.0, threads: int = 2) -> float:
    """Raw Argon2id verifications per second at the service's parameters."""
    hasher = Argon2PasswordHasher()
    stored = hasher.hash(PASSWORD)
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        while time.monotonic() < stop:
            hasher.verify(PASSWORD, stored)
            counts[index] += 1

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def mint_fixture(users: list[SeededUser], path: Path) -> Path:
    path.write_text("\n".join(user.line() for user in users) + "\n")
    return path


def tokens_for(users: list[SeededUser]) -> list[SeededUser]:
    """Tokens exactly as login issues them (version 0: the bench never changes passwords)."""
    issuer = JoseTokenIssuer(secret=JWT_SECRET, lifetime=timedelta(hours=10))
    now = datetime.now(UTC)
    for user in users:
        user.token = issuer.issue(subject=user.id, version=0, token_id=f"bench-{user.id}", now=now).token
    return users


# Where a request's time goes: a sample counts for the rule that matches its innermost frame
# (a SELECT inside the caller lookup is the caller lookup's, not the route's that called it).
PROFILE_BUCKETS = [
    ("token check (JWT decode)", "JoseTokenIssuer.decode"),
    ("caller lookup (users LEFT JOIN revoked_tokens, session)", "AccessService._login_token_caller"),
    ("unit of work end (session close, ROLLBACK)", "UnitOfWork.__exit__"),
    ("note query (one SELECT, session)", "note_service.py"),
    ("response model and JSON", "serialize_response"),
    ("response model and JSON", "from_domain"),
    ("log lines (activity log and others)", "pythonjsonlogger"),
    ("log lines (activity log and others)", "logging/__init__.py"),
    ("metrics", "prometheus_client"),
    ("dependency injection and FastAPI's dependency solving", "solve_dependencies"),
    ("dependency injection and FastAPI's dependency solving", "dependency_injector"),
    ("thread pool hand-offs", "anyio"),
    # Starlette's run_in_threadpool; not SQLAlchemy's util/concurrency.py, whose await_ is the innermost
    # Python frame of every statement on the loop engine (asyncmy's own frames are compiled): such a
    # sample is its statement's, found further out.
    ("thread pool hand-offs", "starlette/concurrency.py"),
    # The loop's side of a route run on the event loop: asyncmy reading and writing the statements the
    # greenlet hands it (compiled, so the innermost Python frame is greenlet_spawn), and the switches.
    ("asyncmy on the loop and greenlet switches (all statements)", "greenlet_spawn"),
    ("routing and request objects (Starlette, FastAPI)", "routing.py"),
    ("our middlewares", "middlewares/"),
    ("HTTP parsing and writing (uvicorn)", "uvicorn"),
]
OTHER_BUCKET = "other (event loop, GC, ...)"


def summarize_profile(path: Path) -> str:
    """Shares of the sampled GIL time per bucket of PROFILE_BUCKETS, from a py-spy speedscope file."""
    data = json.loads(path.read_text())
    labels = [f"{frame['name']} ({frame.get('file') or ''})" for frame in data["shared"]["frames"]]
    buckets: dict[str, float] = {}
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            innermost_first = (labels[index] for index in reversed(stack))
            bucket = next(
                (name for label in innermost_first for name, pattern in PROFILE_BUCKETS if pattern in label),
                OTHER_BUCKET,
            )
            buckets[bucket] = buckets.get(bucket, 0.0) + weight
    lines = [f"{share / total:6.1%}  {name}" for name, share in sorted(buckets.items(), key=lambda item: -item[1])]
    return "\n".join(lines)


def main() -> None:  # noqa: PLR0912, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/til_bench?charset=utf8mb4")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--notes-per-user", type=int, default=200)
    parser.add_argument("--scale", action="store_true", help="also run the reads at 10 k and 1 M notes (bulk-loaded)")
    parser.add_argument("--scale-only", action="store_true", help="only the scale run")
    parser.add_argument("--workers", action="store_true", help="also run two uvicorn workers against one")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of the slowest read scenario")
    parser.add_argument("--only", help="comma-separated scenarios to run (the bounds always run)")
    parser.add_argument(
        "--search-users", action="store_true", help="only search_notes for a 200-note and a 10 000-note user"
    )
    args = parser.parse_args()
    scenarios = chosen_scenarios(args.only)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing: apt-get install wrk")

    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="til-bench-"))
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "connections": args.connections,
        "seconds": args.seconds,
    }
    measure = {"seconds": args.seconds, "connections": args.connections, "warmup": args.warmup}

    print(f"# {report['date']}  {report['cores']} cores  {args.connections} connections  {args.seconds} s each")
    port = free_port()
    if args.search_users:
        report["search_users"] = search_users_run(
            args, env=service_env(args.database_url, port), port=port, measure=measure, work=work
        )
        write_report(report)
        return
    if args.scale_only:
        env = service_env(args.database_url, port)
        report["scale"] = scale_run(args, env=env, port=port, measure=measure, work=work)
        write_report(report)
        return
    reset_database(args.database_url)
    env = service_env(args.database_url, port)
    service = [PYTHON, "main.py"]
    with serve(service, env=env, port=port, ready_path="/health"):
        seeded = seed_via_api(f"http://127.0.0.1:{port}", users=args.users, notes_per_user=args.notes_per_user)
    fixture = mint_fixture(seeded, work / "fixture.tsv")
    print(f"# seeded {len(seeded)} users x {args.notes_per_user} notes through the API")

    bound_port = free_port()
    bounds = {}
    for name, app in (
        ("bound_jwt", "bench.bounds:jwt_app"),
        ("bound_db", "bench.bounds:db_app"),
        ("bound_db_async", "bench.bounds:async_db_app"),
    ):
        command = [str(BIN / "uvicorn"), app, "--port", str(bound_port), "--no-access-log", "--log-level", "warning"]
        with serve(command, env=service_env(args.database_url, bound_port), port=bound_port, ready_path="/docs"):
            bounds[name] = run_wrk(port=bound_port, scenario=name, fixture=fixture, **measure)
    bound_b = bounds["bound_db"]
    for result in bounds.values():
        print(result.line(bound_b) if result is bounds["bound_db_async"] else result.line())

    results: dict[str, Result] = {}
    with serve(service, env=env, port=port, ready_path="/health") as process:
        for scenario in scenarios:
            results[scenario] = run_wrk(port=port, scenario=scenario, fixture=fixture, **measure)
            print(results[scenario].line(bound_b))
        if args.profile:
            PROFILES.mkdir(exist_ok=True)
            measured_reads = [name for name in READS if name in results]
            slowest = min(measured_reads, key=lambda name: results[name].requests_per_second)
            target = PROFILES / f"{slowest}.speedscope.json"
            # --gil: only the thread holding the GIL is sampled, i.e. where the process's one core of
            # Python goes (a single uvicorn worker is bound by it).
            profiler = subprocess.Popen(
                [str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--duration", str(args.seconds),
                 "--rate", "250", "--gil", "--format", "speedscope", "--output", str(target)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            run_wrk(port=port, scenario=slowest, fixture=fixture, seconds=args.seconds, connections=16, warmup=0)
            profiler.wait(timeout=60)
            summary = summarize_profile(target)
            target.with_suffix("").with_suffix(".txt").write_text(f"py-spy --gil, {slowest}, 16 connections\n{summary}")
            print(f"# profile of {slowest}: {target.relative_to(ROOT)}\n{summary}")

    hashes = hash_bound() if set(AUTH) & set(results) else None
    if hashes is not None:
        print(f"{'hash_bound':<24} {hashes:8.1f} Argon2id verifications/s on 2 threads")
    for name in AUTH:
        if name in results and hashes:
            print(f"# {name}: {results[name].requests_per_second / hashes:.0%} of the hash bound")

    if args.workers:
        command = [str(BIN / "uvicorn"), "main:create_app", "--factory", "--workers", "2", "--port", str(port),
                   "--no-access-log"]  # fmt: skip
        with serve(command, env=env, port=port, ready_path="/health"):
            for scenario in [name for name in scenarios if name not in AUTH]:
                result = run_wrk(port=port, scenario=scenario, fixture=fixture, **measure)
                result.scenario = f"{scenario} (2 workers)"
                results[result.scenario] = result
                print(result.line(bound_b))

    if args.scale:
        report["scale"] = scale_run(args, env=env, port=port, measure=measure, work=work)

    report["bounds"] = {name: asdict(result) for name, result in bounds.items()}
    report["hash_bound_per_second"] = hashes
    report["results"] = {name: asdict(result) for name, result in results.items()}
    write_report(report)
    shutil.rmtree(work, ignore_errors=True)


def chosen_scenarios(only: str | None) -> list[str]:
    every = READS + WRITES + AUTH
    if not only:
        return every
    chosen = [name.strip() for name in only.split(",")]
    if unknown := set(chosen) - set(every):
        sys.exit(f"bench: unknown scenarios {sorted(unknown)}; known: {', '.join(every)}")
    return chosen


def write_report(report: dict) -> None:
    target = RESULTS / f"perf-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"# results: {target.relative_to(ROOT)}")


def scale_run(args: argparse.Namespace, *, env: dict, port: int, measure: dict, work: Path) -> dict:
    """The read scenarios at 10 k and at 1 M notes (10 k users), both bulk-loaded."""
    service = [PYTHON, "main.py"]
    figures: dict[str, dict] = {}
    # The sampled users (whose requests are measured) have 200 notes each at both sizes.
    for label, users, notes_per_user, sample in (("10k", 50, 200, 50), ("1M", 10_000, 100, 1000)):
        reset_database(args.database_url)
        started = time.monotonic()
        seeded = bulk_load(args.database_url, users=users, notes_per_user=notes_per_user, sample=sample)
        print(f"# {label}: bulk-loaded {users * notes_per_user} notes in {time.monotonic() - started:.0f} s")
        fixture = mint_fixture(tokens_for([SeededUser(token="", **user) for user in seeded]), work / f"{label}.tsv")
        with serve(service, env=env, port=port, ready_path="/health"):
            figures[label] = {}
            for scenario in READS:
                result = run_wrk(port=port, scenario=scenario, fixture=fixture, **measure)
                result.scenario = f"{scenario} @ {label}"
                figures[label][scenario] = asdict(result)
                print(result.line())
    for scenario in READS:
        ratio = figures["1M"][scenario]["p50_ms"] / figures["10k"][scenario]["p50_ms"]
        print(f"# {scenario}: p50 at 1 M notes is {ratio:.2f}x its p50 at 10 k")
    figures["search_users"] = search_users_run(args, env=env, port=port, measure=measure, work=work)
    return figures


def search_users_run(args: argparse.Namespace, *, env: dict, port: int, measure: dict, work: Path) -> dict:
    """``search_notes`` (``q=common``, a third of the notes match) for one user with 200 notes, then for one
    with 10 000, each alone in a bulk-loaded database: a search's cost follows the caller's notes
    (issue 13's target: the 10 000-note user's p50 within 4x the 200-note user's)."""
    figures: dict[str, dict] = {}
    for notes in (200, 10_000):
        reset_database(args.database_url)
        seeded = bulk_load(args.database_url, users=1, notes_per_user=notes, sample=1, sample_notes_per_user=notes)
        fixture = mint_fixture(tokens_for([SeededUser(token="", **user) for user in seeded]), work / f"{notes}.tsv")
        with serve([PYTHON, "main.py"], env=env, port=port, ready_path="/health"):
            result = run_wrk(port=port, scenario="search_notes", fixture=fixture, **measure)
        result.scenario = f"search_notes, {notes} notes"
        figures[str(notes)] = asdict(result)
        print(result.line())
    ratio = figures["10000"]["p50_ms"] / figures["200"]["p50_ms"]
    print(f"# search_notes: p50 for a 10 000-note user is {ratio:.2f}x the p50 for a 200-note user")
    return figures


if __name__ == "__main__":
    main()
