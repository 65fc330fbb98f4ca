"""Bulk loader for large benchmark volumes: writes, in batches of plain SQL,
exactly the rows the API would write for the same signups and notes — ULID
ids stamped with their creation time, Argon2id password hashes, per-user
tags, note-tag links, the folded search text, version 1, microsecond UTC
timestamps.

tests/integration/test_bench_bulk_load.py reads loaded notes back through the
API to keep it honest.
"""

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert
from ulid import ULID

from note.domain.search import searchable_text
from note.infra.db_models import NoteRow, TagRow, note_tags
from user.infra.argon2_password_hasher import Argon2PasswordHasher
from user.infra.db_models import UserRow

PASSWORD = "bench password 1234"
COMMON_TAG = "common"
CONTENT = "Benchmarks measure; they do not guess. 오늘 배운 것 " * 2
BATCH = 5_000
MEMO_DATE = date(2026, 11, 27)


def _ulid_at(moment: datetime) -> str:
    return str(ULID.from_datetime(moment))


def bulk_load(
    database_url: str,
    *,
    users: int,
    notes_per_user: int,
    sample: int,
    sample_notes_per_user: int = 200,
) -> list[dict[str, Any]]:
    """Load ``users`` users; the first ``sample`` get ``sample_notes_per_user`` notes
    each, the others share what is left of ``users * notes_per_user``. Returns the
    sampled users as ``{id, email, tag, note_ids}``."""
    total_notes = users * notes_per_user
    sample = min(sample, users)
    sampled_notes = sample * sample_notes_per_user
    others = users - sample
    rest_per_user = (total_notes - sampled_notes) // others if others else 0
    password_hash = Argon2PasswordHasher().hash(PASSWORD)  # one real hash: every bench user has the same password
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(database_url)
    sampled: list[dict[str, Any]] = []
    with engine.begin() as connection:
        if engine.dialect.name in ("mysql", "mariadb"):
            connection.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        user_rows, tag_rows, note_rows, link_rows = [], [], [], []

        def flush(force: bool = False) -> None:
            for table, rows in ((UserRow.__table__, user_rows), (TagRow.__table__, tag_rows),
                                (NoteRow.__table__, note_rows), (note_tags, link_rows)):  # fmt: skip
                if rows and (force or len(rows) >= BATCH):
                    connection.execute(insert(table), rows)
                    rows.clear()

        moment = start
        for number in range(users):
            moment += timedelta(milliseconds=3)
            user_id = _ulid_at(moment)
            email = f"bench-{number}@bench.example.com"
            user_rows.append(
                {"id": user_id, "name": f"Bench {number}", "email": email, "email_key": email,
                 "password_hash": password_hash, "role": "USER", "token_version": 0,
                 "created_at": moment, "updated_at": moment}
            )  # fmt: skip
            tag_ids: dict[str, str] = {}
            count = sample_notes_per_user if number < sample else rest_per_user
            note_ids = []
            for index in range(count):
                moment += timedelta(microseconds=rng.randint(50, 500))
                note_id = _ulid_at(moment)
                note_ids.append(note_id)
                # In the order a client gives them, as the API seeding does (bench/perf.py).
                names = [f"bench-{rng.randint(1, 50)}", f"학습-{rng.randint(1, 50)}"]
                if index % 3 == 0:
                    names.append(COMMON_TAG)
                title = f"TIL {index}"
                note_rows.append(
                    {"id": note_id, "user_id": user_id, "title": title, "content": CONTENT,
                     "memo_date": MEMO_DATE, "version": 1, "created_at": moment, "updated_at": moment,
                     "search_text": searchable_text(title=title, content=CONTENT, tags=names)}
                )  # fmt: skip
                for position, name in enumerate(names):
                    if name not in tag_ids:
                        tag_ids[name] = _ulid_at(moment)
                        tag_rows.append({"id": tag_ids[name], "user_id": user_id, "name": name})
                    link_rows.append(
                        {"note_id": note_id, "tag_id": tag_ids[name], "position": position, "note_created_at": moment}
                    )
                flush()
            if number < sample:
                sampled.append({"id": user_id, "email": email, "tag": COMMON_TAG, "note_ids": note_ids})
        flush(force=True)
    if engine.dialect.name in ("mysql", "mariadb"):
        # Fresh statistics, as after any bulk import: without them the optimizer still believes the
        # tables empty and may scan note_tags for every note of a page until InnoDB recounts.
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE TABLE users, notes, tags, note_tags")
    engine.dispose()
    return sampled
