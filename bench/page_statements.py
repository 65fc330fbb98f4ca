"""What a page's one statement costs, alone: the shipped page statements timed on MariaDB, with their plans.

Bulk-loads ``--users`` users of ``--notes`` notes each (a third of each user's notes tagged ``common``,
as ``bench/perf.py`` seeds them), then runs each statement ``--runs`` times on one connection through
SQLAlchemy and PyMySQL, for a random loaded user, and prints its ``EXPLAIN`` and the mean time a run,
twice. No HTTP, no service: what is left is the driver and MariaDB, so two shapes of one page compare
here without the noise of a ``wrk`` run.

    .venv/bin/python bench/page_statements.py              # GET /notes pages 1 and 15; a tag's page, now and before
    .venv/bin/python bench/page_statements.py --runs 5000

It creates the database named in --database-url (default til_bench_statements) anew.
"""

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, create_engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_load import COMMON_TAG, bulk_load  # noqa: E402
from bench.perf import reset_database  # noqa: E402
from note.domain.search import EVERY_NOTE  # noqa: E402
from note.infra.repository import (  # noqa: E402
    MINE,
    NEWEST_FIRST,
    NOTE_COLUMNS,
    PAGE_FOR_TAG,
    _listing,
    _ListingShape,
    _page_statement,
    _tagged,
    notes,
)

PAGE = 10


def statements() -> dict[str, tuple[Select[Any], int]]:
    """Each timed statement, with the offset of its page."""
    listing, _ = _listing(_ListingShape.of(EVERY_NOTE))
    tag_page, _ = PAGE_FOR_TAG
    # The tag's page as it was before migration 0012: sorted by the notes' own columns, which made
    # MariaDB read every note carrying the tag and sort them all to keep a page.
    tag_page_before, _ = _page_statement(
        _tagged(select(*NOTE_COLUMNS).where(MINE)),
        _tagged(select(func.count()).select_from(notes).where(MINE)),
        NEWEST_FIRST,
    )
    return {
        "GET /notes, page 1": (listing, 0),
        "GET /notes, page 15": (listing, 14 * PAGE),
        "GET /notes/tags/common/notes, page 1": (tag_page, 0),
        "the same, in the notes' order (before 0012)": (tag_page_before, 0),
    }


def time_statement(connection: Connection, statement: Select[Any], offset: int, users: list[str], runs: int) -> float:
    """Mean seconds a run of ``statement``, for random users among ``users``."""
    started = time.perf_counter()
    for _ in range(runs):
        parameters = {"user_id": random.choice(users), "tag_name": COMMON_TAG, "limit": PAGE, "offset": offset}
        connection.execute(statement, parameters).all()
    return (time.perf_counter() - started) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default="mysql+pymysql://root@127.0.0.1:3306/til_bench_statements?charset=utf8mb4"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()

    reset_database(args.database_url)
    loaded = bulk_load(args.database_url, users=args.users, notes_per_user=args.notes, sample=args.users)
    users = [user["id"] for user in loaded]
    print(f"# {args.users} users x {args.notes} notes, {args.runs} runs a statement, twice")
    engine = create_engine(args.database_url)
    try:
        with engine.connect() as connection:
            for name, (statement, offset) in statements().items():
                compiled = str(statement.compile(dialect=engine.dialect))
                parameters = {"user_id": users[0], "tag_name": COMMON_TAG, "limit": PAGE, "offset": offset}
                plan = connection.exec_driver_sql(f"EXPLAIN {compiled}", parameters)
                print(name)
                for row in plan:
                    print(f"    {row.select_type:<18} {row.table:<10} {row.type:<6} {row.key or '':<44} {row.Extra}")
                for _ in range(2):
                    mean = time_statement(connection, statement, offset, users, args.runs)
                    print(f"  {mean * 1e6:7.0f} µs a run")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
