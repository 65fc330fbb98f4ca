"""Writers sharing tags, all at once: how many deadlocks MariaDB breaks, and what the clients get.

``--threads`` clients of one app (``create_app`` through ``TestClient``, on MariaDB), one user, each
``--rounds`` times: create a note with three of eight shared names and, half the time, a name of its
own; change its tags to two shared names and one its neighbour creates; delete it half the time.
Prints the status codes counted and ``Innodb_deadlocks`` before and after. Every deadlock is a
transaction MariaDB aborted and the unit of work ran again; a 409 is a request that lost three times.
Run it before and after a change to how writes lock their tags (note/infra/repository.py, _lock_tags).

    .venv/bin/python bench/tag_locks.py
    .venv/bin/python bench/tag_locks.py --threads 32 --rounds 30

It creates the database named in --database-url (default til_bench_tag_locks) anew.
"""

import argparse
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.perf import JWT_SECRET, reset_database  # noqa: E402
from config import Settings  # noqa: E402
from main import create_app  # noqa: E402

SHARED = [f"t{number}" for number in range(8)]
PASSWORD = "tag locks 1234"


def deadlocks(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")).one()[1])


def writer(client: TestClient, headers: dict[str, str], number: int, *, threads: int, rounds: int) -> list[int]:
    pick = random.Random(number)
    statuses = []
    for _ in range(rounds):
        tags = pick.sample(SHARED, 3) + ([f"own{number}-{pick.randint(0, 3)}"] if pick.random() < 0.5 else [])
        note = {"title": "t", "content": "c", "memo_date": "20261127", "tags": tags}
        created = client.post("/notes", json=note, headers=headers)
        statuses.append(created.status_code)
        if created.status_code != 201:
            continue
        url = f"/notes/{created.json()['id']}"
        changed = {"tags": [*pick.sample(SHARED, 2), f"own{(number + 1) % threads}-0"]}  # the neighbour's
        statuses.append(client.put(url, json=changed, headers=headers).status_code)
        if pick.random() < 0.5:
            statuses.append(client.delete(url, headers=headers).status_code)
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default="mysql+pymysql://root@127.0.0.1:3306/til_bench_tag_locks?charset=utf8mb4"
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    reset_database(args.database_url)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=args.database_url,
        jwt_secret=JWT_SECRET,
        log_level="WARNING",
        email_relay_interval_seconds=3600,
        digest_interval_seconds=3600,
    )
    engine = create_engine(args.database_url)
    try:
        with TestClient(create_app(settings)) as client:
            email = "writer@bench.example.com"
            client.post("/users", json={"name": "Writer", "email": email, "password": PASSWORD}).raise_for_status()
            login = client.post("/users/login", data={"username": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.raise_for_status().json()['access_token']}"}
            before, started = deadlocks(engine), time.monotonic()
            with ThreadPoolExecutor(args.threads) as pool:
                runs = pool.map(
                    lambda n: writer(client, headers, n, threads=args.threads, rounds=args.rounds), range(args.threads)
                )
                statuses = Counter(status for run in runs for status in run)
            elapsed = time.monotonic() - started
            print(f"# {args.threads} writers x {args.rounds} rounds in {elapsed:.1f} s")
            print(f"statuses {dict(sorted(statuses.items()))}  deadlocks {deadlocks(engine) - before}")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
